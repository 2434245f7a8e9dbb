# Multi-stage build: static binaries on a distroless, non-root base.
#
# Both bases are pinned by the digest of their multi-platform image index, so that a rebuild of a
# commit uses the bases it was tested with, whatever the tags point at since. The Go release must
# be at least go.mod's go line (the image sets GOTOOLCHAIN=local). To move on:
#   crane digest golang:<version>        crane digest gcr.io/distroless/static-debian12:nonroot
FROM golang:1.26.8@sha256:ec0383e177f24920f5498de7d96d1cd81ada095b430dda72f8b863b99a485ff6 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ \
      ./cmd/bridge ./cmd/consumer-example ./cmd/responder-example
# The store-and-forward volume's mount point, owned by the user that writes it.
RUN mkdir -p /state/var/lib/bridge

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /state/ /
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["-config", "/etc/bridge/bridge.yaml"]
