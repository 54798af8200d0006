"""index operations by creation time (the list is read newest first)

Revision ID: 0002_created_at_index
Revises: 0001_operations
Create Date: 2026-12-07
"""

from alembic import op

revision = "0002_created_at_index"
down_revision = "0001_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_operations_created_at", "operations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_operations_created_at", table_name="operations")
