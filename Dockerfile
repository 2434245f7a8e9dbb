# Multi-stage build: static binaries on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ \
      ./cmd/bridge ./cmd/consumer-example ./cmd/responder-example
# The store-and-forward volume's mount point, owned by the user that writes it.
RUN mkdir -p /state/var/lib/bridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /state/ /
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["-config", "/etc/bridge/bridge.yaml"]
