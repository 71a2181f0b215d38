"""Alembic environment: plain SQL revisions, run against the URL the caller passes in."""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
url = config.attributes["sqlalchemy_url"]
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
