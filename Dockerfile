# Multi-stage build: compile in the Rust image, run in a slim Debian.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN cargo xtask build-web && cargo build --release --locked -p api

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app --shell /usr/sbin/nologin immersion
WORKDIR /app
COPY --from=build /src/target/release/immersion /app/immersion
COPY --from=build /src/web/dist /app/web/dist
RUN mkdir -p /app/data && chown immersion /app/data
USER immersion
ENV APP_ENV=production BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/app/immersion"]
CMD ["serve"]
