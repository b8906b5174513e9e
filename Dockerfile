# One image for every RayVault service; compose picks the command per service.
# Two stages: `build` installs everything (dev tools included) and bundles the
# services into dist/; the runtime stage gets the production dependencies and
# dist/ only, so no TypeScript source, tsx or compiler ships in the image.
# test/stack/compose-runtime.test.ts installs the app the way the runtime stage
# does (its `COPY --from=build` lines and its `npm install`) and starts every
# compose service from that install: keep both in the forms it reads.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY cli/package.json cli/
COPY services/scheduler/package.json services/scheduler/
COPY services/evidence-worker/package.json services/evidence-worker/
COPY services/render-worker/package.json services/render-worker/
COPY services/notifier/package.json services/notifier/
COPY services/ops-api/package.json services/ops-api/
# `npm install`, not `npm ci`: the lockfile lacks other platforms' optional packages (TOOLCHAIN.md).
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng chromium curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV RAYVAULT_STATE_DIR=/state \
    CHROMIUM_PATH=/usr/bin/chromium \
    NODE_ENV=production
# The bundles require their npm packages by paths relative to dist/
# (../node_modules/…, ../shared/node_modules/…), so the install needs the same
# workspace layout: every package.json and the lockfile, then dist/ beside them.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/cli/package.json cli/
COPY --from=build /app/services/scheduler/package.json services/scheduler/
COPY --from=build /app/services/evidence-worker/package.json services/evidence-worker/
COPY --from=build /app/services/render-worker/package.json services/render-worker/
COPY --from=build /app/services/notifier/package.json services/notifier/
COPY --from=build /app/services/ops-api/package.json services/ops-api/
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist dist/
RUN mkdir -p /state && chown node:node /state
USER node
EXPOSE 8080
# For the default command (the ops API); compose gives each worker its own check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=4 \
  CMD curl -fsS "http://127.0.0.1:${RAYVAULT_API_PORT:-8080}/readyz" || exit 1
CMD ["node", "--max-semi-space-size=1", "dist/ops-api.js"]
