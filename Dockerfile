# Multi-stage build: compile in the Rust image, run from a slim Debian with only the binary.
#   docker build -t tonearm .
#   docker run -d -p 8080:8080 -v tonearm-data:/data --name tonearm tonearm
# First management token (stop the server; bootstrap opens the database itself):
#   docker stop tonearm
#   docker run --rm -v tonearm-data:/data tonearm admin bootstrap
#   docker start tonearm
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin tonearm

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin tonearm \
    && mkdir -p /data /etc/tonearm && chown tonearm /data
COPY --from=build /src/target/release/tonearm /usr/local/bin/tonearm
COPY config/tonearm.toml /etc/tonearm/tonearm.toml
USER tonearm
# Listen on all interfaces inside the container; data on the volume. A mounted
# /etc/tonearm/tonearm.toml or these variables configure the rest.
ENV TONEARM_CONFIG=/etc/tonearm/tonearm.toml \
    TONEARM_LISTEN=0.0.0.0:8080 \
    TONEARM_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
# The slim image has no curl: `tonearm health` asks /healthz itself and exits 0 on 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/tonearm", "health", "--url", "http://127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/tonearm"]
CMD ["serve"]
