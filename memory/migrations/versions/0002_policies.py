"""Policy documents, chunks with embeddings and full-text, analyses.

Revision ID: 0002
Revises: 0001
"""

from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the policies work; kept so the revision chain is fixed while it is written


def downgrade() -> None:
    pass
