"""The database schema as Alembic sees it, read and changed inside the canary's containers.

Works the same for any platform whose backend image carries `alembic` and `alembic.ini` at its
working directory (the contract): the suite judges the schema itself rather than trusting a
health endpoint that may not look at the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from canaryspec import needs
from canaryspec.canary import Canary
from canaryspec.needs import Need
from canaryspec.outcomes import decisive_line

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
                              f"{decisive_line(result.output)[:400]}; the log's end: "
                              f"{result.output[-500:]}")
    return result.output


def applied_steps(upgrade_log: str) -> list[str]:
    """The "Running upgrade a -> b" lines of an upgrade's log: what it actually changed."""
    return [line.split("Running upgrade", 1)[1].strip()
            for line in upgrade_log.splitlines() if "Running upgrade" in line]


_PARENT = re.compile(r"^\s*Parent:\s*(\S+)", re.MULTILINE)


def back_one_revision(canary: Canary) -> str:
    """Take the schema back to the revision before head with its own downgrade (the release
    before this one, as far as the database is concerned); return that revision. A chain of
    one revision has no release before it: the scenario cannot be judged (RuntimeError)."""
    found = _PARENT.search(_alembic(canary, "show", "head"))
    parent = found.group(1) if found else None
    if parent is None or parent.strip("<>") == "base":
        raise RuntimeError(f"the migrations have no revision before head (parent {parent}): "
                           "no earlier schema to upgrade from")
    _alembic(canary, "downgrade", parent)
    return parent


# A value of each column type the suite can write without knowing what it means.
_PLAIN_VALUES = {"character varying": "'{key}'", "text": "'{key}'", "integer": "0",
                 "bigint": "0", "smallint": "0", "double precision": "0", "real": "0",
                 "numeric": "0", "boolean": "false", "json": "'{{}}'", "jsonb": "'{{}}'",
                 "timestamp with time zone": "now()", "timestamp without time zone": "now()"}


def write_plain_rows(canary: Canary, table: str, count: int) -> list[str]:
    """Write `count` rows into `table` as its schema stands, a value for every column it
    requires (NOT NULL, no default: keys as 'canary-row-N', other types a neutral value);
    return their keys (the table's one-column primary key)."""
    needs.used(Need.DATABASE, Need.DESTRUCTIVE)
    columns = [line.split("|") for line in _psql(canary, (
        "SELECT column_name, data_type, is_nullable, coalesce(column_default, '') "
        f"FROM information_schema.columns WHERE table_schema = 'public' AND table_name = "
        f"'{table}' ORDER BY ordinal_position")).splitlines() if line]
    key = _primary_key(canary, table)
    if len(key) != 1:
        raise RuntimeError(f"{table} has no one-column primary key ({key}): rows cannot be "
                           "told apart")
    required = [(name, kind) for name, kind, nullable, default in columns
                if nullable == "NO" and not default]
    unknown = [f"{name} ({kind})" for name, kind in required if kind not in _PLAIN_VALUES]
    if unknown:
        raise RuntimeError(f"{table} requires columns the suite cannot fill: {unknown}")
    keys = [f"canary-row-{n}" for n in range(1, count + 1)]
    names = ", ".join(f'"{name}"' for name, _ in required)
    rows = ", ".join("(" + ", ".join(_PLAIN_VALUES[kind].format(key=k) for _, kind in required)
                     + ")" for k in keys)
    _psql(canary, f'INSERT INTO "{table}" ({names}) VALUES {rows}')
    return keys


def _primary_key(canary: Canary, table: str) -> list[str]:
    return _psql(canary, (
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        f"AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'public.{table}'::regclass "
        "AND i.indisprimary")).splitlines()


def rows_missing(canary: Canary, table: str, keys: list[str]) -> list[str]:
    """Which of `keys` the table no longer holds (by its primary key)."""
    key = _primary_key(canary, table)[0]
    held = set(_psql(canary, f'SELECT "{key}"::text FROM "{table}"').splitlines())
    return [k for k in keys if k not in held]


def _psql(canary: Canary, sql: str, database: str | None = None) -> str:
    # The database's own answer: what a scenario needs is the database, whichever way in.
    with needs.counted_as(Need.DATABASE):
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
    needs.used(Need.DATABASE, Need.DESTRUCTIVE)
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


# --- does the migrated schema match the code's models? (`alembic check`) -----------------------
# `alembic check` compares the migrated database with the models' metadata (env.py's
# target_metadata) and, when the migrations fall short, ends with one line:
#   FAILED: New upgrade operations detected: [('add_column', None, 'operations', Column('foo',
#   ...)), [('modify_type', None, 'operations', 'status', {...}, VARCHAR(length=16), ...)], ...]
NO_DIFFERENCES = "No new upgrade operations detected"
DIFFERENCES = "New upgrade operations detected:"
_OPERATION = re.compile(r"\('((?:add|remove|modify)_\w+)', ")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_TABLE_OF = re.compile(r"table=<([^>]+)>")


@dataclass(frozen=True)
class SchemaDifference:
    """One operation autogenerate would add to bring the migrated schema to the models."""

    operation: str          # alembic's name: add_column, remove_table, modify_type, ...
    table: str | None
    name: str | None = None  # the column, index or constraint
    before: str = ""         # modify_*: what the migrated schema has
    after: str = ""          # modify_*: what the models declare

    @property
    def column(self) -> str:
        return f"{self.table}.{self.name}" if self.table else str(self.name)

    def __str__(self) -> str:
        kind = self.operation
        if kind == "add_column":
            return f"the code's models need {self.column}, which no migration creates"
        if kind == "remove_column":
            return f"the migrations create {self.column}, which the code's models do not declare"
        if kind == "add_table":
            return f"the code's models need the table {self.table}, which no migration creates"
        if kind == "remove_table":
            return f"the migrations create the table {self.table}, which no model declares"
        if kind == "add_index":
            return (f"the code's models need the index {self.name} on {self.table}, which no "
                    "migration creates")
        if kind == "remove_index":
            return (f"the migrations create the index {self.name} on {self.table}, which no "
                    "model declares")
        if kind.startswith("modify_") and self.name:
            what = kind.removeprefix("modify_").replace("nullable", "nullability")
            return (f"{self.column} differs in {what}: {self.before} in the migrated schema, "
                    f"{self.after} in the code's models")
        where = f" on {self.table}" if self.table else ""
        return f"autogenerate would {kind.replace('_', ' ')}{where} ({self.name or 'unnamed'})"


@dataclass(frozen=True)
class SchemaCheck:
    """What `alembic check` said, and the differences it found (none: the schema matches)."""

    output: str
    differences: tuple[SchemaDifference, ...]

    @property
    def problems(self) -> list[str]:
        """Each difference in words: what the models need that no migration creates, ..."""
        return [str(difference) for difference in self.differences]

    def summary(self) -> str:
        return "; ".join(self.problems) or "the migrated schema matches the models"


def _split_top_level(text: str) -> list[str]:
    """`a, F(b, c), {d: e}), ...` → ['a', 'F(b, c)', '{d: e}']: the items up to the bracket that
    closes the enclosing tuple, split at commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                break
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _unquote(text: str) -> str | None:
    match = _QUOTED.fullmatch(text.strip())
    return match.group(1) if match else None


def _difference(operation: str, segment: str) -> SchemaDifference:
    """One operation from its tuple's text after the operation name (up to the next one)."""
    args = _split_top_level(segment)
    if operation in {"add_column", "remove_column"} or operation.startswith("modify_"):
        # (schema, table, Column('name', ...)) or (schema, table, 'column', {...}, old, new)
        table = _unquote(args[1]) if len(args) > 1 else None
        third = args[2] if len(args) > 2 else ""
        quoted = _QUOTED.search(third)
        name = _unquote(third) or (quoted.group(1) if quoted else None)
        before, after = (args[4], args[5]) if len(args) > 5 else ("", "")
        if operation == "modify_nullable":
            before, after = (("nullable" if v == "True" else "NOT NULL") for v in (before, after))
        return SchemaDifference(operation, table, name, before, after)
    # (Table('name', ...)), (Index('name', Column(..., table=<t>))), (ForeignKeyConstraint(...))
    first = _QUOTED.search(segment)
    table_of = _TABLE_OF.search(segment)
    if operation.endswith("_table"):
        return SchemaDifference(operation, first.group(1) if first else None)
    return SchemaDifference(operation, table_of.group(1) if table_of else None,
                            first.group(1) if first else None)


def differences_of(output: str) -> list[SchemaDifference]:
    """The differences named on the first "New upgrade operations detected:" line of `alembic
    check`'s output (alembic may log the same line twice; the platform may log around it)."""
    line = next((ln for ln in output.splitlines() if DIFFERENCES in ln), "")
    listed = line.split(DIFFERENCES, 1)[1] if line else ""
    found = list(_OPERATION.finditer(listed))
    return [_difference(match.group(1),
                        listed[match.end():found[i + 1].start() if i + 1 < len(found) else None])
            for i, match in enumerate(found)]


def judge_check(exit_code: int, output: str) -> SchemaCheck:
    """`alembic check`'s exit code and output as a verdict; anything else than "no differences"
    or a list of them (a database behind head, an env.py without target_metadata, alembic too
    old to know `check`) is a MigrationFailed that quotes it."""
    if DIFFERENCES in output:
        differences = differences_of(output)
        if differences:
            return SchemaCheck(output, tuple(differences))
    elif exit_code == 0 and NO_DIFFERENCES in output:
        return SchemaCheck(output, ())
    raise MigrationFailed(f"`alembic check` could not compare the schema with the models "
                          f"(exit {exit_code}): {output[-800:]}")


def check_schema(canary: Canary) -> SchemaCheck:
    """Run `alembic check` in the backend container: after `upgrade head`, would autogenerate
    add anything? Each thing it would add is a column, table or index the code's models need
    (or drop) that no migration creates."""
    result = canary.exec("backend", [*ALEMBIC, "check"], with_stderr=True)
    return judge_check(result.exit_code, result.output)
