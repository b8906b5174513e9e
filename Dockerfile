# One image for every RayVault service; compose picks the command per service.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng chromium curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY cli/package.json cli/
COPY services/scheduler/package.json services/scheduler/
COPY services/evidence-worker/package.json services/evidence-worker/
COPY services/render-worker/package.json services/render-worker/
COPY services/notifier/package.json services/notifier/
COPY services/ops-api/package.json services/ops-api/
RUN npm install --no-audit --no-fund
COPY . .
ENV RAYVAULT_STATE_DIR=/state \
    CHROMIUM_PATH=/usr/bin/chromium \
    NODE_ENV=production
RUN mkdir -p /state && chown node:node /state
USER node
CMD ["node", "--import", "tsx", "services/ops-api/src/main.ts"]
