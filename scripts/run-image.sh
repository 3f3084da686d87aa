#!/usr/bin/env bash
# Boots an image built by scripts/build-image.sh where no container engine
# runs, the way a Kubernetes pod with the chart's security context would: the
# image's own root filesystem mounted read-only, an empty tmpfs at /tmp, the
# image's USER, WORKDIR, ENV and CMD, and the host's network.
#
#   scripts/run-image.sh TAG [NAME=VALUE ...]
#
# NAME=VALUE pairs are added to the image's environment (REDIS_URL, PORT, ...).
# Runs in the foreground; SIGTERM/SIGINT are passed on to the service (PID of
# the service: written to $RUN_IMAGE_PIDFILE when set), and the container's
# mount is removed when it exits. With a Docker engine use `docker run
# --read-only --tmpfs /tmp` instead; this script is for buildah-only hosts.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TAG [NAME=VALUE ...]" >&2; exit 2; }
tag=$1; shift
export STORAGE_DRIVER=${BUILDAH_STORAGE_DRIVER:-vfs}
bah() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }

config=$(bah inspect --type image "$tag")
field() { node -e 'const c = JSON.parse(process.argv[1]).OCIv1.config; const v = c[process.argv[2]]; process.stdout.write(Array.isArray(v) ? v.join("\0") : String(v ?? ""))' "$config" "$1"; }
user=$(field User); workdir=$(field WorkingDir)
mapfile -d '' -t cmd < <(field Cmd)
mapfile -d '' -t env < <(field Env)
[ ${#cmd[@]} -gt 0 ] || { echo "$tag has no CMD" >&2; exit 1; }
[ -n "$user" ] || user=0:0
case $user in *:*) ;; *) user="$user:$user" ;; esac

ctr=$(bah from --quiet "$tag")
root=$(bah mount "$ctr")
child=
cleanup() {
  bah umount "$ctr" >/dev/null 2>&1 || true
  bah rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT

# A private mount namespace: the read-only root, /tmp, /proc and /dev exist
# only for the service. Every step execs the next, so the PID started here
# ends up being the service's own process (it receives SIGTERM directly, as
# PID 1 would in a pod).
unshare --mount --propagation private -- /bin/sh -c '
  root=$1; user=$2; workdir=$3; shift 3
  mount --bind "$root" "$root"
  mount -t tmpfs -o nosuid,nodev,mode=1777,size=64m tmpfs "$root/tmp"
  mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -o remount,bind,ro "$root"
  cd "$root/${workdir#/}"
  exec chroot --userspec="$user" "$root" /usr/bin/env -i "$@"
' run-image "$root" "$user" "${workdir:-/}" "${env[@]}" "$@" /bin/sh -c 'cd "$0" && exec "$@"' "${workdir:-/}" "${cmd[@]}" &
child=$!
[ -n "${RUN_IMAGE_PIDFILE:-}" ] && echo "$child" >"$RUN_IMAGE_PIDFILE"
status=0
wait "$child" || status=$?
# A signal interrupts the first wait; wait again for the service to finish.
if kill -0 "$child" 2>/dev/null; then wait "$child" || status=$?; fi
exit "$status"
