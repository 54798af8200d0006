"""Steps about the database schema and its Alembic migrations."""

from behave import given, then, when
from behave.runner import Context
from hamcrest import assert_that, empty, equal_to, is_not

from canaryspec.database_health import health_reporting, start_database, stop_database
from canaryspec.migrations import applied_steps, check_schema, reset_database
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
    health = health_reporting(context.canary, connected=True, migrated=False)
    # Judged as a client reads it: the overall status, once the detail says unmigrated.
    assert_that(health.field("status"), is_not(equal_to("ok")),
                f"backend health says ok on an unmigrated schema: {health.brief()}")


@then("the backend reports the database schema as migrated")
def step_health_reports_migrated(context: Context) -> None:
    health = health_reporting(context.canary, connected=True, migrated=True)
    assert_that(health.field("status"), equal_to("ok"),
                f"backend health is not ok on a migrated schema: {health.brief()}")


@then("the backend reports the database as not connected")
def step_health_reports_disconnected(context: Context) -> None:
    health = health_reporting(context.canary, connected=False)
    assert_that(health.field("status"), is_not(equal_to("ok")),
                f"backend health says ok without a database: {health.brief()}")


@when("the database is replaced by a fresh, unmigrated one")
def step_replace_database(context: Context) -> None:
    reset_database(context.canary.canary)


@when("the database service is stopped")
def step_stop_database(context: Context) -> None:
    # Whatever the scenario's outcome, the feature's canary is left with its database up.
    context.add_cleanup(start_database, context.canary)
    stop_database(context.canary)


@when("the database service is started again")
def step_start_database(context: Context) -> None:
    start_database(context.canary)


@then("the migrated schema has every table and column the backend's code expects")
def step_schema_matches_models(context: Context) -> None:
    check = check_schema(context.canary.canary)
    attach_text("alembic check", check.output)
    assert_that(check.problems, empty(), check.summary())


@given("the schema is taken back to the revision before head")
def step_back_one_revision(context: Context) -> None:
    context.earlier_revision = context.canary.back_one_revision()
    attach_text("revision before head", context.earlier_revision)


@given("the operations table holds {count:d} operations written at that revision")
def step_rows_before_upgrade(context: Context, count: int) -> None:
    context.rows_before = context.canary.write_operation_rows(count)


@then("every operation written before the upgrade is still there")
def step_rows_kept(context: Context) -> None:
    missing = context.canary.operation_rows_missing(context.rows_before)
    assert_that(missing, empty(), f"rows written at {context.earlier_revision} and gone after "
                                  "the upgrade")
