"""Policy documents, chunks with embeddings and full-text, analyses.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
-- One row per platform policy version; the text is what chunk offsets point into.
CREATE TABLE policy_documents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    version integer NOT NULL,
    title text NOT NULL,
    url text,
    source text NOT NULL,
    content_type text NOT NULL,
    content_hash text NOT NULL,
    text text NOT NULL,
    -- [{heading, start, end, hash}]: what the section-level diff of the next version compares against
    sections jsonb NOT NULL,
    -- the section-level diff from the previous version, computed once at ingest
    changes jsonb,
    users_notified integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform_id, version)
);
CREATE INDEX policy_documents_hash_idx ON policy_documents (platform_id, content_hash);

-- The embedding column is typed to the current model's dimension (HNSW needs a fixed one);
-- `privyloop reembed` re-types it and rewrites every row, so one search never mixes models.
CREATE TABLE policy_chunks (
    id bigserial PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES policy_documents(id) ON DELETE CASCADE,
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    ord integer NOT NULL,
    section text NOT NULL DEFAULT '',
    start integer NOT NULL CHECK (start >= 0),
    "end" integer NOT NULL,
    text text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', section), 'A') || setweight(to_tsvector('english', text), 'B')
    ) STORED,
    embedding vector(384),
    embedding_model text NOT NULL,
    embedding_dim integer NOT NULL,
    CHECK ("end" > start),
    UNIQUE (document_id, ord)
);
CREATE INDEX policy_chunks_embedding_idx ON policy_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX policy_chunks_tsv_idx ON policy_chunks USING gin (tsv);
CREATE INDEX policy_chunks_document_idx ON policy_chunks (document_id);

-- Template analyses keyed by the hash of everything they were computed from: the same inputs never
-- pay for a second model call, whichever template version asks.
CREATE TABLE policy_analyses (
    input_hash text PRIMARY KEY,
    model text NOT NULL,
    analysis jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DELETE FROM change_events WHERE kind = 'platform_policy_updated';
DROP TABLE IF EXISTS policy_analyses, policy_chunks, policy_documents CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
