"""The database schema as Alembic sees it, read and changed inside the canary's containers.

Works the same for any platform whose backend image carries `alembic` and `alembic.ini` at its
working directory (the contract): the suite judges the schema itself rather than trusting a
health endpoint that may not look at the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from canaryspec.canary import Canary

ALEMBIC = ["python", "-m", "alembic"]
# A line of `alembic heads` naming a head; the platform's own log lines around it (timestamps,
# INFO ...) never match: the whole line must be a revision id and "(head)".
_HEAD = re.compile(r"^\s*([0-9A-Za-z_]+) \(head\)(?: \(\w+\))?\s*$", re.MULTILINE)


class MigrationFailed(AssertionError):
    """`alembic` exited non-zero inside the backend container."""


@dataclass(frozen=True)
class SchemaRevision:
    current: str | None
    head: str



def _alembic(canary: Canary, *args: str) -> str:
    result = canary.exec("backend", [*ALEMBIC, *args])
    if result.exit_code != 0:
        raise MigrationFailed(f"`alembic {' '.join(args)}` failed in the backend container "
                              f"(exit {result.exit_code}): {result.output[-800:]}")
    return result.output


def heads_of(output: str) -> list[str]:
    """The head revisions named in `alembic heads` output (log lines ignored)."""
    return _HEAD.findall(output)


def schema_revision(canary: Canary) -> SchemaRevision:
    """The revision stamped in the database (read from its `alembic_version` table, not parsed
    from a log) against the head of the migration scripts the backend image ships."""
    heads = heads_of(_alembic(canary, "heads"))
    if len(heads) != 1:
        raise AssertionError(f"expected one Alembic head in the backend image, found {heads}")
    return SchemaRevision(current=stamped_revision(canary), head=heads[0])


def stamped_revision(canary: Canary) -> str | None:
    """The database's `alembic_version` row, or None when it was never migrated."""
    if not table_exists(canary, "alembic_version"):
        return None
    rows = [r for r in _psql(canary, "SELECT version_num FROM alembic_version").splitlines() if r]
    if len(rows) > 1:
        raise AssertionError(f"the database is stamped with several revisions: {rows}")
    return rows[0] if rows else None


def upgrade_to_head(canary: Canary) -> str:
    """Run `alembic upgrade head` in the backend container (as the seed does); return its log."""
    # alembic logs what it runs to stderr: keep it, it is the evidence of what changed.
    result = canary.exec("backend", [*ALEMBIC, "upgrade", "head"], with_stderr=True)
    if result.exit_code != 0:
        raise MigrationFailed(f"`alembic upgrade head` failed (exit {result.exit_code}): "
                              f"{result.output[-800:]}")
    return result.output


def applied_steps(upgrade_log: str) -> list[str]:
    """The "Running upgrade a -> b" lines of an upgrade's log: what it actually changed."""
    return [line.split("Running upgrade", 1)[1].strip()
            for line in upgrade_log.splitlines() if "Running upgrade" in line]


def _psql(canary: Canary, sql: str, database: str | None = None) -> str:
    env = canary.env_of("db")
    user = env.get("POSTGRES_USER", "postgres")
    db = database or env.get("POSTGRES_DB", user)
    result = canary.exec("db", ["psql", "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1",
                                "-Atc", sql])
    if result.exit_code != 0:
        raise AssertionError(f"psql in the db container failed: {result.output[-500:]}")
    return result.output


def schema_snapshot(canary: Canary) -> list[str]:
    """Every table, column and type of the public schema."""
    rows = _psql(canary, "SELECT table_name || '.' || column_name || ' ' || data_type "
                         "FROM information_schema.columns WHERE table_schema = 'public' "
                         "ORDER BY 1")
    return [line for line in rows.splitlines() if line]


def table_exists(canary: Canary, table: str) -> bool:
    return _psql(canary, f"SELECT to_regclass('public.{table}') IS NOT NULL") == "t"


def reset_database(canary: Canary) -> None:
    """Drop and re-create the canary's database: a fresh, never-migrated one, in a second."""
    env = canary.env_of("db")
    db = env.get("POSTGRES_DB", env.get("POSTGRES_USER", "postgres"))
    _psql(canary, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', database="postgres")
    _psql(canary, f'CREATE DATABASE "{db}"', database="postgres")


def operation_count(canary: Canary) -> int:
    """Rows in the operations table, read from the database itself (not through the API)."""
    return int(_psql(canary, "SELECT count(*) FROM operations"))


def checkpoint_count(canary: Canary, operation_id: str) -> int:
    """Checkpoints kept for an operation (the operation_checkpoints table)."""
    safe = operation_id.replace("'", "''")
    return int(_psql(canary, "SELECT count(*) FROM operation_checkpoints "
                             f"WHERE operation_id = '{safe}'"))
