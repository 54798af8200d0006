"""create operations and operation_checkpoints

Revision ID: 0001_operations
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_operations"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("operation_id", sa.String(128), primary_key=True),
        sa.Column("operation_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("worker_id", sa.String(128)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("progress_percent", sa.Float, nullable=False, server_default="0"),
        sa.Column("current_step", sa.Text),
        sa.Column("metadata", JSON, nullable=False, server_default="{}"),
        sa.Column("result", JSON),
        sa.Column("error_message", sa.Text),
    )
    op.create_index("ix_operations_operation_type", "operations", ["operation_type"])
    op.create_index("ix_operations_status", "operations", ["status"])
    op.create_table(
        "operation_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("operation_id", sa.String(128),
                  sa.ForeignKey("operations.operation_id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("state", JSON, nullable=False, server_default="{}"),
    )
    op.create_index("ix_operation_checkpoints_operation_id", "operation_checkpoints",
                    ["operation_id"])


def downgrade() -> None:
    op.drop_index("ix_operation_checkpoints_operation_id", table_name="operation_checkpoints")
    op.drop_table("operation_checkpoints")
    op.drop_index("ix_operations_status", table_name="operations")
    op.drop_index("ix_operations_operation_type", table_name="operations")
    op.drop_table("operations")
