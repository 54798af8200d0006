"""Alembic environment: the URL comes from the backend settings."""

from alembic import context
from sqlalchemy import create_engine, pool

from tradelab.db.models import Base
from tradelab.settings import backend_settings

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=backend_settings().database_url, target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.attributes.get("url") or backend_settings().database_url
    # A one-off engine without a pool: a migration opens one connection and is done.
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
