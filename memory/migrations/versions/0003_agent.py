"""Agent: scan requests and thread ownership.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
-- A scan the agent asked for; the extension picks pending ones up (settings scans need the user's browser),
-- and the policy worker takes policy refreshes. One open request per user, platform and kind.
CREATE TABLE scan_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    kind text NOT NULL DEFAULT 'settings' CHECK (kind IN ('settings', 'policy')),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'picked_up', 'done', 'failed', 'cancelled')),
    requested_by text NOT NULL DEFAULT 'agent',
    note text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    picked_up_at timestamptz,
    completed_at timestamptz
);
CREATE UNIQUE INDEX scan_requests_open_key ON scan_requests (user_id, platform_id, kind)
    WHERE status IN ('pending', 'picked_up');
CREATE INDEX scan_requests_user_idx ON scan_requests (user_id, requested_at DESC);

-- Conversation threads: who owns a thread id, and its title. Checkpoints live in LangGraph's own tables.
CREATE TABLE threads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title text NOT NULL DEFAULT 'New conversation',
    channel text NOT NULL DEFAULT 'chat',
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_user_idx ON threads (user_id, updated_at DESC);

-- Erasing a thread (or a user) must take the LangGraph checkpoints and long-term memories with it.
-- Those tables are created by the saver's and store's setup(), possibly after this migration, so the
-- functions look them up at run time.
CREATE FUNCTION privyloop_drop_thread_checkpoints() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['checkpoint_writes', 'checkpoint_blobs', 'checkpoints'] LOOP
        IF to_regclass(t) IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I WHERE thread_id = $1', t) USING OLD.id::text;
        END IF;
    END LOOP;
    RETURN OLD;
END $$;
CREATE TRIGGER threads_drop_checkpoints AFTER DELETE ON threads
    FOR EACH ROW EXECUTE FUNCTION privyloop_drop_thread_checkpoints();

CREATE FUNCTION privyloop_drop_user_memories() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the store keys namespaces as dot-joined text: ("memories", user_id) -> 'memories.<uuid>'
    IF to_regclass('store') IS NOT NULL THEN
        EXECUTE 'DELETE FROM store WHERE prefix = $1 OR prefix LIKE $2'
            USING 'memories.' || OLD.id::text, 'memories.' || OLD.id::text || '.%';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER users_drop_memories BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION privyloop_drop_user_memories();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS users_drop_memories ON users;
DROP FUNCTION IF EXISTS privyloop_drop_user_memories();
DROP TABLE IF EXISTS threads;
DROP FUNCTION IF EXISTS privyloop_drop_thread_checkpoints();
DROP TABLE IF EXISTS scan_requests;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
