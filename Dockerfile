# mldeploy image: `docker build -t mldeploy .`, then `docker run mldeploy up` or, with docker-compose.yaml, the API,
# workers and scheduler on PostgreSQL, Redis and MinIO. Stages: the native toolchain (better-sqlite3 compiles when no
# prebuilt binary fits), the build with dev dependencies, the production dependencies alone, and the runtime image.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

FROM toolchain AS build
# Lifecycle scripts off: `prepare` would build before the sources are here; better-sqlite3's own install runs below.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/prune-dist.mjs ./scripts/
COPY src ./src
RUN npm run build && chmod +x dist/cli/main.js

FROM toolchain AS production-dependencies
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MLDEPLOY_HOME=/var/lib/mldeploy \
    MLDEPLOY_HOST=0.0.0.0 \
    PORT=8086
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json README.md ./
RUN ln -s /app/dist/cli/main.js /usr/local/bin/mldeploy \
  && mkdir -p /var/lib/mldeploy \
  && chown node:node /var/lib/mldeploy
# The image's own unprivileged user (uid 1000), never root.
USER node
VOLUME ["/var/lib/mldeploy"]
EXPOSE 8086
# Liveness of the API (`up`, `serve`); compose replaces it for the worker and the scheduler, which serve no HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8086) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# mldeploy handles SIGTERM itself: the API drains and flushes its prediction log, a worker finishes its task.
STOPSIGNAL SIGTERM
ENTRYPOINT ["mldeploy"]
CMD ["up"]
