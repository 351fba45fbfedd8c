FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HANDOVER_HOST=0.0.0.0 HANDOVER_PORT=3000 HANDOVER_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY templates ./templates
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /app handover && chown -R handover /app
USER handover

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz').status == 200 else 1)"
# Apply migrations, then serve (web + outbox dispatcher + scheduler in one process).
CMD ["sh", "-c", "handover db upgrade && handover serve"]
