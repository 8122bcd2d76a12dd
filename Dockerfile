# gitward's image for docker/buildah users: the same layout as `npm run image:build` (the reproducible,
# engine-free build this project signs and ships): /app with dist/src and production node_modules, user
# 65532, entrypoint node /app/dist/src/cli/main.js, no shell, runs with a read-only root filesystem
# (mount an emptyDir at /tmp). Pin the base images by digest in your own builds.
FROM docker.io/library/node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json \
 && mkdir -p /app/dist \
 && cp -r dist/src /app/dist/src \
 && find /app/dist -name '*.map' -delete \
 && cp package.json package-lock.json /app/ \
 && cd /app && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /app/node_modules/.bin /app/node_modules/.package-lock.json

# distroless: glibc, CA certificates, /etc/passwd with "nonroot" (65532), no shell, no package manager.
# git is needed to fetch config repositories: the engine-free build copies it in with its libraries;
# here, build FROM an image that has it if the operator fetches over git.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
COPY --from=build /app /app
WORKDIR /app
USER 65532:65532
ENV NODE_ENV=production TMPDIR=/tmp
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli/main.js"]
