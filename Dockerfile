# syntax=docker/dockerfile:1
# One image for every Python service of the Tianqu City Cockpit; the command picks the service:
#   python -m ingest                                   the ingester
#   python -m api serve --host 0.0.0.0 --port 8000     the API (uvicorn)
#   python -m alerting                                 the rule evaluator
#   python -m simulators run ...                       the simulated district
#   python -m devstack.emqx_auth                       EMQX's login service (EMQX variant)
#   tianqu-broker-init                                 one-shot: broker PKI, service logins, files
# Build from the repository root:  docker build -t tianqu-cockpit:latest .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the project and its dependencies (no dev extras) ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# A compiler only for a dependency without a wheel for this platform; it stays in this stage.
# Debian packages follow the base image's suite (security updates), hence no version pins.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY city ./city
COPY influxv1 ./influxv1
COPY servicekit ./servicekit
COPY simulators ./simulators
COPY ingest ./ingest
COPY api ./api
COPY alerting ./alerting
COPY dashboards ./dashboards
COPY devstack ./devstack
# psycopg: the driver for TIANQU_API_DATABASE_URL=postgresql+psycopg://… (docs/scaling.md).
RUN pip install . "psycopg[binary]>=3.2,<4" && python -m compileall -q /opt/venv

# --- runtime: the venv, a few Debian packages, an unprivileged user ------------------------
FROM ${PYTHON_IMAGE} AS runtime
# tini: PID 1 that forwards SIGTERM (the ingester drains on it) and reaps children;
# tzdata: Asia/Shanghai for the simulators' and rules' local time; sqlite3: the operator's
# tool for the spool, the dead letters and the SQLite registry; ca-certificates: TLS to the
# broker and InfluxDB.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini tzdata sqlite3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 tianqu \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tianqu --shell /usr/sbin/nologin tianqu \
 && mkdir -p /var/lib/tianqu/api /var/lib/tianqu/ingest /var/lib/tianqu/alerting \
             /var/lib/tianqu/broker-auth /var/lib/tianqu/pki /var/lib/tianqu/secrets /var/lib/tianqu/sim \
 && chown -R 10001:10001 /var/lib/tianqu \
 && chmod 0750 /var/lib/tianqu/broker-auth /var/lib/tianqu/pki \
 && chmod 0700 /var/lib/tianqu/secrets
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/entrypoint.sh /usr/local/bin/tianqu-entrypoint
COPY deploy/docker/broker-init.sh /usr/local/bin/tianqu-broker-init
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 TZ=Asia/Shanghai
WORKDIR /var/lib/tianqu
USER 10001:10001
EXPOSE 8000 9108 9109 8090
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/tianqu-entrypoint"]
CMD ["python", "-m", "api", "serve", "--host", "0.0.0.0", "--port", "8000"]
