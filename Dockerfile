# syntax=docker/dockerfile:1
#
# queuegate container image: three stages so the runtime holds only what runs.
#
#   build       full dependency tree, compiles src/ into dist/ with `nest build`
#   prod-deps   production dependencies only (`npm ci --omit=dev`)
#   runtime     node:24-bookworm-slim as non-root UID 10001: dist/ (with the
#               waiting-room page in dist/public), lua/, package.json and the production node_modules, nothing else
#
# The Lua scripts are read at boot from <package root>/lua (src/redis/lua-loader.ts
# resolves dist/redis/../../lua), so lua/ must sit beside dist/ in /app.
# test/prod-install.e2e-spec.ts reproduces the prod-deps + runtime layout without a
# Docker engine (copy, `npm ci --omit=dev --ignore-scripts`, boot, probe the health
# endpoints), so a change here should be mirrored there.
#
# Build and run:
#   docker build -t queuegate:dev .
#   docker run --rm -p 3000:3000 -e REDIS_URL=redis://host.docker.internal:6379 \
#     -e ADMIN_TOKEN=... -e ACCESS_TOKEN_SECRET=... queuegate:dev

# Node 24 LTS, the supported line (package.json engines; the `node` devDependency
# runs npm scripts on the same major). Override with --build-arg NODE_IMAGE=...
ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Lockfile first so the dependency layer is cached until the lockfile changes.
# --ignore-scripts: the install scripts in the tree are an analytics ping
# (@scarf/scarf via swagger-ui-dist) and the `node` devDependency's download of
# a Node binary, which the image does not need (it is Node 24 already); nothing
# needs to compile natively.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The build also compiles web/ into dist/public (the waiting-room page).
RUN npm run build

# ------------------------------------------------------------ prod-deps
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# -------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    LOG_FORMAT=json
# A numeric, non-root user: Kubernetes' runAsNonRoot can only verify a numeric UID.
RUN groupadd --system --gid 10001 queuegate \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin queuegate
WORKDIR /app
# Everything is owned by root and only readable by the app user: the container
# runs with a read-only root filesystem (the chart mounts an emptyDir at /tmp).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/dist ./dist
COPY --from=build /app/lua ./lua
USER 10001:10001
EXPOSE 3000
# Liveness only (no Redis check), the same endpoint the Kubernetes livenessProbe uses.
# The slim image has no curl/wget; Node's global fetch does the request.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and receives SIGTERM directly; the app's shutdown hooks turn
# readiness to 503, drain for SHUTDOWN_DRAIN_MS, finish in-flight requests, then close Redis.
CMD ["node", "dist/main.js"]
