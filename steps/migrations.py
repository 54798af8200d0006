"""Steps about the database schema and its Alembic migrations."""

from behave import given, then, when
from behave.runner import Context
from hamcrest import assert_that, empty, equal_to, is_not

from canaryspec.migrations import applied_steps
from canaryspec.reports.attach import attach_text


@when("the migrations are applied")
@given("the migrations have been applied")
def step_apply_migrations(context: Context) -> None:
    context.upgrade_log = context.canary.upgrade()
    attach_text("alembic upgrade head", context.upgrade_log)
    context.schema_before = context.canary.schema_snapshot()


@when("the backend is restarted")
def step_restart_backend(context: Context) -> None:
    # The contract: migrations are never run by the backend, not even at start-up.
    context.canary.restart("backend")


@when("the migrations are applied again")
def step_apply_migrations_again(context: Context) -> None:
    context.upgrade_log = context.canary.upgrade()
    attach_text("alembic upgrade head (again)", context.upgrade_log)


@then("the database schema is not at the head revision")
def step_schema_behind(context: Context) -> None:
    revision = context.canary.schema_revision()
    assert_that(revision.current, is_not(equal_to(revision.head)),
                f"a fresh database already claims the head revision {revision.head}")


@then("the database schema is at the head revision")
def step_schema_at_head(context: Context) -> None:
    revision = context.canary.schema_revision()
    assert_that(revision.current, equal_to(revision.head),
                f"schema at {revision.current}, head is {revision.head}")


@then('the database has the "{table}" table')
def step_table_exists(context: Context, table: str) -> None:
    assert_that(context.canary.table_exists(table), equal_to(True),
                f"no {table} table after the upgrade")


@then("the second upgrade applied no migration")
def step_no_migration_applied(context: Context) -> None:
    assert_that(applied_steps(context.upgrade_log), empty(),
                f"the second upgrade ran migrations:\n{context.upgrade_log}")


@then("the database schema is unchanged")
def step_schema_unchanged(context: Context) -> None:
    after = context.canary.schema_snapshot()
    assert_that(after, equal_to(context.schema_before), "the second upgrade changed the schema")
    assert_that(after, is_not(empty()), "the schema snapshot is empty: nothing was migrated")


@then("the backend reports the database schema as not migrated")
def step_health_reports_unmigrated(context: Context) -> None:
    health = context.canary.health()
    # Judged as a client reads it: the overall status first, then the detail.
    assert_that(health.field("status"), is_not(equal_to("ok")),
                f"backend health says ok on an unmigrated schema: {health.brief()}")
    assert_that(health.field("database.migrated"), equal_to(False),
                f"backend health does not report the schema as unmigrated: {health.brief()}")
