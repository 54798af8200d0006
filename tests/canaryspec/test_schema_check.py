"""`alembic check`'s answer read as the schema differences it names, in the product's words."""

import pytest

from canaryspec.migrations import MigrationFailed, SchemaDifference, differences_of, judge_check

# What alembic 1.20 prints (its logger and its own message: the same line twice) when the
# models declare a column no revision adds.
ONE_COLUMN = """INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Will assume transactional DDL.
INFO  [alembic.autogenerate.compare] Detected added column 'operations.priority'
ERROR [alembic.util.messaging] New upgrade operations detected: [('add_column', None, \
'operations', Column('priority', Integer(), table=<operations>, nullable=False, \
server_default=DefaultClause('0', for_update=False)))]
FAILED: New upgrade operations detected: [('add_column', None, 'operations', \
Column('priority', Integer(), table=<operations>, nullable=False, \
server_default=DefaultClause('0', for_update=False)))]
"""

# Every shape of operation autogenerate lists: tables, columns, a group of modify_* (a list in
# the list), indexes.
MANY = ("FAILED: New upgrade operations detected: [('add_table', Table('operation_tags', "
        "MetaData(), Column('id', Integer(), table=<operation_tags>, primary_key=True, "
        "nullable=False), Column('tag', Text(), table=<operation_tags>), schema=None)), "
        "('remove_table', Table('old', MetaData(), Column('id', INTEGER(), table=<old>, "
        "primary_key=True, nullable=False), schema=None)), [('modify_type', None, "
        "'operations', 'status', {'existing_nullable': True, 'existing_server_default': False, "
        "'existing_comment': None}, VARCHAR(length=16), String(length=32)), "
        "('modify_nullable', None, 'operations', 'status', {'existing_type': "
        "VARCHAR(length=16), 'existing_server_default': False, 'existing_comment': None}, "
        "True, False)], ('add_index', Index('ix_operations_status', Column('status', "
        "String(length=32), table=<operations>, nullable=False))), ('remove_column', None, "
        "'operations', Column('gone', INTEGER(), table=<operations>))]")


def test_a_column_no_migration_creates_is_named_with_its_table():
    assert differences_of(ONE_COLUMN) == [SchemaDifference("add_column", "operations",
                                                           "priority")]
    check = judge_check(255, ONE_COLUMN)
    assert check.summary() == ("the code's models need operations.priority, which no migration "
                               "creates")


def test_every_kind_of_difference_is_said_in_words():
    assert judge_check(255, MANY).problems == [
        "the code's models need the table operation_tags, which no migration creates",
        "the migrations create the table old, which no model declares",
        "operations.status differs in type: VARCHAR(length=16) in the migrated schema, "
        "String(length=32) in the code's models",
        "operations.status differs in nullability: nullable in the migrated schema, NOT NULL "
        "in the code's models",
        "the code's models need the index ix_operations_status on operations, which no "
        "migration creates",
        "the migrations create operations.gone, which the code's models do not declare",
    ]


def test_a_matching_schema_has_no_differences():
    check = judge_check(0, "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n"
                           "No new upgrade operations detected.\n")
    assert check.differences == ()
    assert check.summary() == "the migrated schema matches the models"


@pytest.mark.parametrize("output", [
    "FAILED: Target database is not up to date.",
    "FAILED: Can't proceed with --autogenerate option; environment script env.py does not "
    "provide a MetaData object or sequence of objects to the context.",
    "alembic: error: argument : invalid choice: 'check'",
])
def test_a_check_that_could_not_compare_is_not_a_verdict_on_the_schema(output):
    with pytest.raises(MigrationFailed, match="could not compare"):
        judge_check(255, output)
