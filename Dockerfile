# Switchyard container image (multi-stage): build with the dev dependencies, run with the
# production ones only, as the unprivileged `node` user.
#
#   docker build -t switchyard .
#   docker run --rm -p 8080:8080 -v $PWD/gateway.yaml:/etc/switchyard/gateway.yaml:ro switchyard
#
# See docs/deployment.md.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# npm ci installs exactly the lock file; the build compiles every workspace package.
RUN npm ci --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf test test-artifacts docs/img

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/switchyard
COPY --from=build --chown=root:root /src /opt/switchyard
COPY deploy/gateway.yaml /etc/switchyard/gateway.yaml
# The image's node user (uid 1000): nothing in the image is writable by it.
USER node
EXPOSE 8080
# SIGTERM is Switchyard's graceful stop: stop accepting, finish in-flight exchanges for up to
# global.gracePeriod, then exit 0. Give `docker stop -t` (compose: stop_grace_period) a few
# seconds more than gracePeriod.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["node", "/opt/switchyard/deploy/healthcheck.js"]
ENTRYPOINT ["node", "/opt/switchyard/core/bin/switchyard.js"]
CMD ["run", "--config", "/etc/switchyard/gateway.yaml", "--log-format", "json"]
