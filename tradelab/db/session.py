"""Engine and schema-revision helpers for the backend."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# What an outage or an unmigrated schema raises (no connection, no table): a 503 that says so.
# Any other database error is no outage (bad data that passed validation) and must not be
# reported as one.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, ProgrammingError)


@lru_cache
def engine_for(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=5, connect_args={"connect_timeout": 3})


@lru_cache
def head_revision() -> str:
    """The newest Alembic revision this build ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database, or None when it was never migrated."""
    with engine.connect() as conn:
        has_table = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
        if not has_table:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def schema_state(engine: Engine) -> dict[str, object]:
    """Connection and migration state, as the health endpoint reports it."""
    head = head_revision()
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        return {"connected": False, "revision": None, "head": head,
                "migrated": False, "error": reason.splitlines()[0]}
    return {"connected": True, "revision": revision, "head": head, "migrated": revision == head}
