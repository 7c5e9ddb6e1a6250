# syntax=docker/dockerfile:1
# Dynamote's image: `docker build -t dynamote:0.1.0 .`
#
# Two stages. The build stage installs the dependencies into a virtualenv (one layer, rebuilt
# only when pyproject.toml changes), then builds the project's wheel (which carries the
# catalog as bot/data/models.json) and installs it. The final stage is python:3.11-slim plus
# that virtualenv: no compiler, no pip cache, no sources, a non-root numeric user.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/dynamote
ENV PATH=/opt/dynamote/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone, so a source change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt

# Then the project itself, as a wheel built from its own files.
COPY README.md ./
COPY catalog ./catalog
COPY bot ./bot
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --no-deps /wheels/*.whl \
 && dynamote catalog --json > /dev/null

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/dynamote/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DYNAMOTE_BIND_HOST=0.0.0.0 \
    DYNAMOTE_HEALTH_PORT=8080
# A fixed numeric UID/GID, so Kubernetes can check runAsNonRoot without resolving names.
RUN groupadd --system --gid 10001 dynamote \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin dynamote
COPY --from=build /opt/dynamote /opt/dynamote
USER 10001:10001
# 3000: POST /slack/events (HTTP mode); 8080: /healthz, /readyz, /metrics (DYNAMOTE_HEALTH_PORT).
EXPOSE 3000 8080
# For `docker run`; Kubernetes ignores it and uses the Deployment's probes.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["dynamote"]
CMD ["serve"]
