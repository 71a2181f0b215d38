"""Agent: scan requests and thread ownership.

Revision ID: 0003
Revises: 0002
"""

from alembic import op  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the agent work; kept so the revision chain is fixed while it is written


def downgrade() -> None:
    pass
