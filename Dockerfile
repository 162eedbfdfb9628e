# Multi-stage build: compile in the Rust image, run from a slim Debian with only the binary.
#   docker build -t tonearm .
#   docker run -d -p 8080:8080 -v tonearm-data:/data --stop-timeout 40 --name tonearm tonearm
# First management token (stop the server; bootstrap opens the database itself):
#   docker stop tonearm
#   docker run --rm -v tonearm-data:/data tonearm admin bootstrap
#   docker start tonearm
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin tonearm
# The image's configuration: the documented example with the two values a container needs
# (all interfaces; data on the volume). A mounted /etc/tonearm/tonearm.toml replaces it whole;
# nothing else in the image overrides what a mounted file says.
RUN sed -e 's|^listen = .*|listen = "0.0.0.0:8080"|' \
        -e 's|^data_dir = .*|data_dir = "/data"|' \
        config/tonearm.toml > /src/tonearm.container.toml \
    && grep -q '^listen = "0.0.0.0:8080"' /src/tonearm.container.toml \
    && grep -q '^data_dir = "/data"' /src/tonearm.container.toml \
    && target/release/tonearm config check --config /src/tonearm.container.toml

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin tonearm \
    && mkdir -p /data /etc/tonearm && chown tonearm /data
COPY --from=build /src/target/release/tonearm /usr/local/bin/tonearm
COPY --from=build /src/tonearm.container.toml /etc/tonearm/tonearm.toml
# The audio tagger's weights are inside the binary; their licence notices travel with it.
COPY --from=build /src/models/NOTICE.md /src/models/LICENSE-APACHE-2.0.txt /usr/share/doc/tonearm/
USER tonearm
# Only the file's location is set here. TONEARM_LISTEN / TONEARM_DATA_DIR given with
# `docker run -e` still win over the file, and the server logs each value they replace.
ENV TONEARM_CONFIG=/etc/tonearm/tonearm.toml
VOLUME ["/data"]
EXPOSE 8080
# The slim image has no curl: `tonearm health` reads the same configuration and asks the
# configured listener's /healthz (https with the configured certificate when TLS is on).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/tonearm", "health"]
# SIGTERM lets requests finish for server.shutdown_grace (30 s by default): give `docker stop`
# longer than that (`docker stop -t 40`, `--stop-timeout 40`, compose `stop_grace_period: 40s`),
# or Docker's default of 10 s kills the server mid-request.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tonearm"]
CMD ["serve"]
