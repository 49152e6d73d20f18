# supervisor job-runner daemon. Build: docker build -t supervisor .
# Run:   docker run -v supervisor-data:/var/lib/supervisor -p 8000:8000 supervisor
# Settings come from environment variables (-e DATABASE_URL=... etc.). Without DATABASE_URL
# the daemon runs an embedded PostgreSQL under /var/lib/supervisor/data, so keep that volume.

# The dashboard's JavaScript (htmx, uPlot), fetched from the npm registry at pinned versions by
# scripts/build-ui; the builder takes these over the copies committed in the repository.
FROM node:22-slim AS ui
WORKDIR /src
COPY scripts/build-ui scripts/build-ui
RUN bash scripts/build-ui

FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# A venv keeps everything the app needs under one directory the final stage copies whole.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY . .
COPY --from=ui /src/supervisor/ui/static/vendor supervisor/ui/static/vendor
RUN pip install --no-cache-dir . \
    && supervisor --help > /dev/null

FROM python:3.11-slim

# A fixed uid/gid so files on the volume keep their owner across rebuilds and hosts.
RUN groupadd --system --gid 10001 supervisor \
    && useradd --system --uid 10001 --gid supervisor --no-create-home \
        --home-dir /var/lib/supervisor --shell /usr/sbin/nologin supervisor \
    && install -d -m 0750 -o supervisor -g supervisor /var/lib/supervisor /var/lib/supervisor/data
COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/var/lib/supervisor/data \
    API_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json
# Created and chowned above first, so a new named volume starts out owned by supervisor.
VOLUME /var/lib/supervisor
WORKDIR /var/lib/supervisor
# Numeric, so runtimes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000

# Needs the api service: with `run --only ...` without api, pass --no-healthcheck.
# slim has no curl; Python reads API_PORT (default 8000, like ${API_PORT:-8000}) itself so the
# exec form needs no shell. urlopen raises on errors and non-2xx answers: exit status 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('API_PORT') or '8000'), timeout=4)"]

# The daemon drains running jobs for SHUTDOWN_GRACE_SECONDS (default 30) after SIGTERM:
# stop it with `docker stop -t 45` (or stop_grace_period: 45s in compose), since Docker's
# default of 10 s would SIGKILL it mid-drain.
STOPSIGNAL SIGTERM
ENTRYPOINT ["supervisor"]
CMD ["run"]
