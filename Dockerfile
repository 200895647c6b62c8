# SegHub: segserver and segctl in one image.
# Build: docker build -t seghub:VERSION .     Run: see docker-compose.*.yml and docs/operations.md.

# --- build: the official Swift image of the version we use (Debian bookworm) ---
FROM swift:6.3.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libjpeg-dev libpng-dev libtiff-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Benchmarks ./Benchmarks
RUN swift build -c release --static-swift-stdlib --product segserver \
    && swift build -c release --static-swift-stdlib --product segctl \
    && mkdir -p /staging \
    && cp "$(swift build -c release --show-bin-path)/segserver" "$(swift build -c release --show-bin-path)/segctl" /staging/ \
    # DWARF out, the symbol table kept (functions keep their names in backtraces and profiles); each binary loses ~2/3 of its size.
    && llvm-objcopy --strip-debug /staging/segserver \
    && llvm-objcopy --strip-debug /staging/segctl \
    # The SwiftPM resource bundles (migrations, the OpenAPI document) live beside the binaries.
    && cp -R "$(swift build -c release --show-bin-path)"/*.resources /staging/

# --- runtime: only the runtime libraries (libxml2: FoundationXML, which reads S3 answers), the PostgreSQL client for
# backups, certificates ---
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libjpeg62-turbo libpng16-16 libtiff6 libxml2 postgresql-client ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1001 seghub \
    && useradd --uid 1001 --gid 1001 --home-dir /var/lib/seghub --shell /usr/sbin/nologin seghub \
    && mkdir -p /var/lib/seghub/data /var/lib/seghub/backups \
    && chown -R 1001:1001 /var/lib/seghub
COPY --from=build /staging/ /opt/seghub/bin/
ENV PATH=/opt/seghub/bin:$PATH \
    SEG_DATA_DIR=/var/lib/seghub/data \
    SEG_BACKUP_DIR=/var/lib/seghub/backups \
    SEG_HTTP_HOST=0.0.0.0 \
    SEG_HTTP_PORT=8080
USER 1001:1001
WORKDIR /var/lib/seghub
VOLUME ["/var/lib/seghub/data", "/var/lib/seghub/backups"]
EXPOSE 8080
# Reachable, migrated database and a writable data directory (segctl check exits 1 with the reason).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["segctl", "check"]
STOPSIGNAL SIGTERM
CMD ["segserver", "--role", "all"]
