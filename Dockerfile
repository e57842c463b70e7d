# asgi-bench: servers, Locust and the orchestrator in one image.
# No registry here? Build a stand-in base with scripts/docker-base and pass
# --build-arg PYTHON_IMAGE=asgi-bench-base:bookworm.
ARG PYTHON_IMAGE=python:3.12-slim
FROM ${PYTHON_IMAGE}

# A CA bundle for pip, for networks that inspect TLS (optional).
ARG PIP_CERT=
ARG GIT_SHA=unknown
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    ASGI_BENCH_GIT_SHA=${GIT_SHA}

# wrk and h2load (Debian's wrk and nghttp2-client): the native peak beside Locust's. The
# stand-in base (scripts/docker-base) has them; python:3.12-slim gets them here.
RUN command -v wrk >/dev/null && command -v h2load >/dev/null \
    || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends wrk nghttp2-client && rm -rf /var/lib/apt/lists/*)
# PostgreSQL's server (Debian's postgresql) for compose's postgres service, the db workload's
# database; the package's own cluster is not made (`asgi-bench database` makes a fresh one).
RUN ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
    || (mkdir -p /etc/postgresql-common \
        && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
        && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends postgresql && rm -rf /var/lib/apt/lists/*)
RUN python3 -m venv /opt/venv
WORKDIR /src

# Dependencies first, read from pyproject.toml alone: editing the source keeps this layer.
COPY pyproject.toml ./
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY README.md ./
COPY asgi_bench ./asgi_bench
COPY apps ./apps
COPY collectors ./collectors
COPY loadtests ./loadtests
# apps/, collectors/ and loadtests/ install as asgi_bench.apps, .collectors and .loadtests
# (pyproject.toml's package-dir); the build fails if the installed package cannot import them.
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi && pip install --no-deps /src \
    && cd / && python -c "import asgi_bench.apps.hello, asgi_bench.collectors.middleware, asgi_bench.loadtests.harness"

# Run where no source folder named asgi_bench can shadow the installed package (the harness
# puts the folder it runs in first on its servers' import path, for users' own apps). The
# Locust files stay at hand for compose's locust service, which names them by path.
WORKDIR /app
COPY loadtests ./loadtests
COPY dashboards ./dashboards

RUN useradd --create-home --uid 1000 bench && mkdir -p /app/results && chown bench /app/results
USER bench

HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=5 \
    CMD ["python", "-m", "asgi_bench.system.healthcheck"]
CMD ["asgi-bench", "list"]
