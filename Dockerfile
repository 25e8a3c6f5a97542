# Hotline's container image: a static binary on a distroless, non-root base.
#   docker build -t hotline --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) .
# The build stage runs `make build`, the same command CI runs (.ci/run), so
# what CI checks is what the image holds.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
RUN make build VERSION=$VERSION COMMIT=$COMMIT DATE=$DATE \
 && ./bin/hotline version \
 && mkdir -p /out/var/lib/hotline

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/hotline /usr/local/bin/hotline
# The data directory of the SQLite default (sqlite:hotline.db, relative to
# the working directory); mount a volume here to keep it.
COPY --from=build --chown=65532:65532 /out/var/lib/hotline /var/lib/hotline
WORKDIR /var/lib/hotline
USER 65532:65532
# HTTP (webhooks, API, callbacks, /metrics) and the SMTP listener for alert mail.
EXPOSE 8080 2525
VOLUME ["/var/lib/hotline"]
ENTRYPOINT ["/usr/local/bin/hotline"]
CMD ["serve"]
