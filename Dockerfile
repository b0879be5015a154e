# syntax=docker/dockerfile:1
#
# One image for both processes of the MultiLine batch onboarding service:
#   api [serve|migrate|seed-demo]   (the default command is `api serve`)
#   worker
# Build from the repository root: docker build -t multiline-onboarding .
# deploy/docker-compose.yml builds it the same way. Not built on the machine where it was
# written (no Docker engine there); see deploy/README.md.

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# Only what the build reads: every embedded asset (migrations, mail templates, web pages)
# lives under internal/, so .devstack/, bin/ and the rest never enter the image.
COPY cmd ./cmd
COPY internal ./internal
# Every command under cmd/ (api, worker, and any CLI added later) lands in /out.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags='-s -w' -o /out/ ./cmd/...

# Static binaries need no libc; distroless/static brings CA certificates (smtps://,
# rediss://, sslmode=require) and time zone data, and runs as uid 65532 "nonroot".
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER nonroot:nonroot
ENV API_ADDR=:8080 WORKER_ADDR=:9091
# 8080: api (HTTP API, /metrics, /healthz, /readyz); 9091: worker (/metrics, /healthz, /readyz).
EXPOSE 8080 9091
# No HEALTHCHECK: the image has no shell or curl. Orchestrators probe /healthz and /readyz.
CMD ["api", "serve"]
