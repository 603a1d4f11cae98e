# The `digisos` binary in a small image. Build from the repository root: `docker build -t fiks-digisos .`
# Run: `docker run -p 8080:8080 -v digisos-data:/data fiks-digisos` (SQLite and documents in /data), or set
# DATABASE_URL, DIGISOS_DOCUMENTS_URL and DIGISOS_ISSUERS for a cluster; see the configuration table in README.md.
# Outside development mode DIGISOS_DOKUMENTLAGER_CERT and DIGISOS_DOKUMENTLAGER_KEY (PEM files, e.g. a mounted
# secret) are required: the certificate senders encrypt files for, and its key.
# Health: GET /internal/isalive and /internal/isready; metrics: GET /internal/metrics.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin digisos

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin digisos \
    && mkdir -p /data \
    && chown digisos:digisos /data
COPY --from=build /src/target/release/digisos /usr/local/bin/digisos
USER digisos
WORKDIR /data
ENV DIGISOS_LISTEN=0.0.0.0:8080 \
    DIGISOS_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["digisos"]
