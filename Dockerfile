# syntax=docker/dockerfile:1
# The lair image for cluster runs (`lair export argo`): every Argo step runs
# `lair stage run DAG INSTANCE --store URL` in it, in /opt/lair.
#
#   docker build -t REGISTRY/lair:TAG .
#
# Not built by the tests (no Docker on the development machines); see
# docs/readme/cluster.md for what is and is not checked. Versions and
# checksums match the Makefile (GO version: go.mod; ORT: the `ort` target).

ARG GO_VERSION=1.26.8
ARG DEBIAN=trixie
ARG NODE_VERSION=24

# 1. Build lair with cgo (ONNX Runtime is loaded through cgo at run time).
FROM golang:${GO_VERSION}-${DEBIAN} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
ENV CGO_ENABLED=1
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -o /out/lair ./cmd/lair

# 2. Fetch the ONNX Runtime CPU library from npm without running any install
#    script, exactly as `make ort` does, and verify both checksums.
FROM node:${NODE_VERSION}-${DEBIAN}-slim AS ort
ARG ORT_VERSION=1.30.0
ARG ORT_TGZ_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ARG ORT_LIB_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
WORKDIR /ort
RUN npm pack --silent onnxruntime-node@${ORT_VERSION} >/dev/null \
 && echo "${ORT_TGZ_SHA256}  onnxruntime-node-${ORT_VERSION}.tgz" | sha256sum -c --quiet \
 && tar xzf onnxruntime-node-${ORT_VERSION}.tgz package/bin/napi-v6/linux/x64/libonnxruntime.so.1 \
 && echo "${ORT_LIB_SHA256}  package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --quiet \
 && mkdir -p /out && cp package/bin/napi-v6/linux/x64/libonnxruntime.so.1 /out/

# 3. Slim runtime: the binary, the library, the DAG files.
FROM debian:${DEBIAN}-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 lair
COPY --from=build /out/lair /usr/local/bin/lair
COPY --from=ort /out/libonnxruntime.so.1 /opt/onnxruntime/libonnxruntime.so.1
ENV LAIR_ORT_LIB=/opt/onnxruntime/libonnxruntime.so.1 \
    LAIR_CACHE=/tmp/lair-cache \
    GOMLX_BACKEND=go:parallelism=16
WORKDIR /opt/lair
COPY dags/ dags/
USER lair
ENTRYPOINT []
CMD ["lair", "help"]
