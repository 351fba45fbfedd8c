# Handover's image: built from the wheel, never from the source tree.
# (No container engine was available where this file was written: it is checked by
# tests/test_packaging.py, which runs every `handover` command below against the CLI, not by a build.)

# ---- stage 1: build the wheel ------------------------------------------------------------------
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md slack-manifest.yaml ./
COPY bot ./bot
COPY templates ./templates
COPY migrations ./migrations
RUN python -m build --wheel --outdir /dist

# ---- stage 2: the wheel installed in a virtualenv, run as a non-root user -------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/handover/bin:$PATH \
    HANDOVER_HOST=0.0.0.0 HANDOVER_PORT=3000 HANDOVER_LOG_FORMAT=json
COPY --from=build /dist/ /tmp/dist/
RUN python -m venv /opt/handover \
    && /opt/handover/bin/pip install --no-cache-dir /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && useradd --system --create-home --home-dir /var/lib/handover --shell /usr/sbin/nologin handover \
    && handover --version
USER handover
WORKDIR /var/lib/handover

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HANDOVER_PORT', '3000'), timeout=4).status == 200 else 1)"
# The web app (with the outbox dispatcher). Migrations are a separate one-shot step:
# `docker run --rm --env-file .env handover handover db upgrade` (compose.yaml's `migrate` service).
CMD ["handover", "serve"]
