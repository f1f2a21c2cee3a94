# syntax=docker/dockerfile:1
#
# The RecRL container image: the `recrl` command line (train, evaluate, serve, ...) on a
# slim Debian runtime. Build:   docker build -t recrl:dev .
# Run the server:               docker run -p 8080:8080 -v "$PWD/model:/models/current:ro" recrl:dev
# Any other command:            docker run --rm recrl:dev info
#
# Checked offline by `make validate-deploy`: hadolint, and deploy/check-runtime-libs.sh, which
# maps every shared library a built `recrl` links to a package of the runtime stage below.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# Build stage: the Swift 6 toolchain (Debian bookworm, the same release as the runtime stage, so
# the C libraries linked here are the ones installed there).
FROM ${SWIFT_IMAGE} AS build

# Headers and pkg-config files of the C libraries (Package.swift's CRecRLBLAS system library
# target finds OpenBLAS with pkg-config; SQLite backs the server's event log).
# Versions are not pinned: bookworm's point releases replace superseded package versions, so a
# pin breaks the build at the next security update; the release (bookworm) is pinned by the image.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libopenblas-dev liblapacke-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Package.swift declares test and example targets, and SwiftPM checks that every target's folder
# exists when it loads the package, so those folders are copied too (only recrl is built).
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Examples ./Examples

# The Swift standard library, Foundation and Dispatch are linked statically, so the runtime
# stage needs no Swift toolchain; the C libraries (OpenBLAS, LAPACKE, SQLite) stay dynamic.
# The cache mount keeps resolved dependencies and build products between image builds (BuildKit);
# the binary is copied out of it in the same step.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product recrl --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/recrl" /out/recrl

# ---------------------------------------------------------------------------------------------
# Runtime stage. deploy/check-runtime-libs.sh reads the package list of the `apt-get install`
# below (between the recrl-runtime-packages markers): keep one package per line.
FROM ${RUNTIME_IMAGE} AS runtime

# libopenblas0-pthread: BLAS (also provides libblas.so.3 and liblapack.so.3 through Debian's
# alternatives); liblapacke: the LAPACKE C interface; libsqlite3-0: the feedback event log;
# ca-certificates: TLS to object stores or registries mounted over HTTPS.
# Not pinned, for the reason given in the build stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    # recrl-runtime-packages-begin
        libopenblas0-pthread \
        liblapacke \
        libsqlite3-0 \
        ca-certificates \
    # recrl-runtime-packages-end
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 recrl \
    && useradd --system --uid 10001 --gid recrl --home-dir /var/lib/recrl --create-home --shell /usr/sbin/nologin recrl \
    && mkdir -p /models /registry \
    && chown recrl:recrl /models /registry

COPY --from=build /out/recrl /usr/local/bin/recrl

# OpenBLAS chooses its kernels when the library loads, from the CPU it sees. Debian's OpenBLAS
# (0.3.21) does not recognise recent Intel CPUs and falls back to generic SSE3 kernels (3-5x
# slower sgemm). `recrl` handles that itself: when OpenBLAS loaded a generic core on a CPU with
# AVX-512 or AVX2+FMA and OPENBLAS_CORETYPE is unset, it re-executes itself once with
# OPENBLAS_CORETYPE=SkylakeX or Haswell (the PerformanceAndBLAS article of the docs). So the
# variable is deliberately NOT set here: an image-wide value would be wrong on the other CPU
# family. Set it in the pod (env OPENBLAS_CORETYPE) only to force a core, e.g. on nodes whose
# hypervisor hides CPUID flags.
# OpenBLAS also sizes its thread pool from the node's cores, not the container's CPU limit:
# `recrl serve` sets its own per-call count (--blas-threads, default 1); batch steps (train, tune)
# should set OPENBLAS_NUM_THREADS to their CPU limit, as deploy/kubeflow does.
ENV RECRL_PORT=8080

USER 10001:10001
WORKDIR /var/lib/recrl
EXPOSE 8080

# Liveness for plain Docker (Kubernetes ignores HEALTHCHECK and uses the probes in
# deploy/kubernetes). The slim image has no curl or wget; rather than install curl (and libcurl
# with its TLS stack, a larger attack surface, for one GET), bash - present in every Debian
# image - opens the TCP connection itself through /dev/tcp and checks the status line.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${RECRL_PORT} && printf 'GET /v2/health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["recrl"]
# The default command serves the model folder mounted at /models/current on all interfaces.
CMD ["serve", "--model", "/models/current", "--host", "0.0.0.0", "--port", "8080", "--events", "/var/lib/recrl/events.sqlite"]
