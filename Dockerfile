# syntax=docker/dockerfile:1
# The Bayit+ API image, for Cloud Run (keel.yaml: staging and production). Build: docker build -t bayit .
# Run: docker run -p 8080:8080 -e SECRET_KEY=... -e DATABASE_URL=postgresql+asyncpg://... bayit
#
# - multi-stage: the build stage installs the locked runtime dependencies into a venv; the runtime stage gets
#   only that venv (no compilers, no pip cache, no dev tools);
# - runs as a non-root user (uid 10001);
# - listens on $PORT (Cloud Run sets it; 8080 by default);
# - SIGTERM: stop accepting, finish in-flight requests for up to GRACEFUL_TIMEOUT (8 s), close the database
#   pool, exit: within Cloud Run's 10 s before SIGKILL;
# - one uvicorn worker per whole CPU the container may use (cgroup quota and affinity; WEB_CONCURRENCY
#   overrides);
# - no HEALTHCHECK: Cloud Run ignores it; keel.yaml's probes become the revision's startup and liveness probes.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer (rebuilt only when the lock or a pyproject.toml changes): the runtime
# requirements of the bayit distribution and of the keel extras it asks for, at the versions of
# requirements.lock, without the dev extra. Both distributions come from this repository (keel, then bayit).
COPY pyproject.toml requirements.lock ./
COPY services/bayit/pyproject.toml ./services/bayit/
COPY docker/requirements.py ./docker/
RUN python docker/requirements.py pyproject.toml services/bayit/pyproject.toml > runtime.txt \
    && pip install --constraint requirements.lock --requirement runtime.txt
COPY README.md ./
COPY src ./src
COPY services/bayit ./services/bayit
RUN pip install --no-deps . ./services/bayit \
    && python -c "import bayit.container, keel.health"

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 bayit \
    && useradd --system --uid 10001 --gid bayit --create-home --home-dir /home/bayit --shell /usr/sbin/nologin bayit
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080 \
    GRACEFUL_TIMEOUT=8 \
    ENVIRONMENT=production \
    FORWARDED_ALLOW_IPS=*
WORKDIR /home/bayit
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bayit.container"]
