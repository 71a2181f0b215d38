"""Accounts: sessions, API tokens, extension devices and pairing.

Revision ID: 0004
Revises: 0003
"""

from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the accounts work; kept so the revision chain is fixed while it is written


def downgrade() -> None:
    pass
