# The API image used by docker-compose.yml; Postgres and Redis run in their own containers.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY memory memory
COPY ingest ingest
COPY tools tools
COPY agent agent
COPY api api
COPY cli cli
RUN pip install --no-cache-dir . && useradd --system --home /data privyloop && mkdir -p /data \
    && chown privyloop /data
USER privyloop
EXPOSE 8000
CMD ["privyloop", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-demo"]
