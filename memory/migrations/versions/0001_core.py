"""Privacy state core: users, platforms, templates, personal settings, history, change events, scores.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name text,
    password_hash text,
    tier text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'premium', 'enterprise')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE platforms (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug text NOT NULL UNIQUE,
    name text NOT NULL,
    privacy_url text,
    policy_url text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per platform version, shared by every user of the platform.
CREATE TABLE templates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    version integer NOT NULL,
    label text NOT NULL,
    source text NOT NULL CHECK (source IN ('catalog', 'observed')),
    content_hash text NOT NULL,
    structure jsonb NOT NULL,
    analysis jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform_id, version)
);

-- The platform-made changes between two versions, computed once and fanned out to users.
CREATE TABLE template_changes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    from_template_id uuid REFERENCES templates(id) ON DELETE CASCADE,
    to_template_id uuid NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    changes jsonb NOT NULL,
    users_notified integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (to_template_id)
);

CREATE TABLE connections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'disconnected')),
    last_scan_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, platform_id)
);
CREATE INDEX connections_platform_idx ON connections (platform_id) WHERE status = 'connected';

-- The user's latest values only; everything shared lives in the template.
CREATE TABLE current_settings (
    connection_id uuid PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    template_id uuid NOT NULL REFERENCES templates(id),
    -- the version the latest scan was read against (template_id moves on when a new version is fanned out)
    scan_template_id uuid NOT NULL REFERENCES templates(id),
    values jsonb NOT NULL,
    unknown jsonb NOT NULL DEFAULT '{}'::jsonb,
    settings_hash text NOT NULL,
    score integer CHECK (score BETWEEN 0 AND 100),
    history_seq integer NOT NULL DEFAULT 0,
    -- written only when values or the template change; the time of the latest scan is connections.last_scan_at
    updated_at timestamptz NOT NULL
);
CREATE INDEX current_settings_user_idx ON current_settings (user_id);

-- Deltas (changed keys only) with a keyframe every few entries so replay reads little.
CREATE TABLE settings_history (
    id bigserial PRIMARY KEY,
    connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    seq integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('keyframe', 'delta')),
    template_id uuid NOT NULL REFERENCES templates(id),
    body jsonb NOT NULL,
    scan_id uuid,
    effective_at timestamptz NOT NULL,
    UNIQUE (connection_id, seq)
);
CREATE INDEX settings_history_replay_idx ON settings_history (connection_id, effective_at, seq);
CREATE INDEX settings_history_keyframe_idx ON settings_history (connection_id, effective_at)
    WHERE kind = 'keyframe';

CREATE TABLE scans (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    payload_hash bytea NOT NULL,
    scraper_version text NOT NULL,
    scanned_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    result jsonb NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX scans_user_platform_idx ON scans (user_id, platform_id, scanned_at DESC);

CREATE TABLE change_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    kind text NOT NULL,
    attribution text NOT NULL CHECK (attribution IN ('user', 'platform', 'suspected_platform')),
    setting_key text,
    setting_label text,
    before jsonb,
    after jsonb,
    direction text NOT NULL DEFAULT 'neutral' CHECK (direction IN ('more_exposed', 'less_exposed', 'neutral')),
    impact text NOT NULL DEFAULT 'low' CHECK (impact IN ('low', 'medium', 'high')),
    summary text NOT NULL,
    template_version_before integer,
    template_version_after integer,
    template_change_id uuid REFERENCES template_changes(id) ON DELETE SET NULL,
    scan_id uuid REFERENCES scans(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    occurred_at timestamptz NOT NULL,
    notified boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_events_user_time_idx ON change_events (user_id, occurred_at DESC);
CREATE INDEX change_events_user_platform_time_idx ON change_events (user_id, platform_id, occurred_at DESC);
CREATE INDEX change_events_flip_idx ON change_events (platform_id, setting_key, occurred_at)
    WHERE kind = 'user_setting_changed';
CREATE UNIQUE INDEX change_events_fanout_key ON change_events (template_change_id, user_id, kind, setting_key)
    WHERE template_change_id IS NOT NULL;

CREATE TABLE score_history (
    id bigserial PRIMARY KEY,
    connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    template_id uuid NOT NULL REFERENCES templates(id),
    score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    reason text NOT NULL,
    computed_at timestamptz NOT NULL
);
CREATE INDEX score_history_connection_idx ON score_history (connection_id, computed_at DESC);
CREATE INDEX score_history_user_idx ON score_history (user_id, computed_at DESC);

-- A structural difference between a user's page and the template; enough agreeing users make a version.
CREATE TABLE structure_observations (
    id bigserial PRIMARY KEY,
    platform_id uuid NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    template_id uuid NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fingerprint text NOT NULL,
    difference jsonb NOT NULL,
    observed_at timestamptz NOT NULL,
    UNIQUE (template_id, fingerprint, user_id)
);

CREATE TABLE notification_preferences (
    user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email_enabled boolean NOT NULL DEFAULT true,
    change_notifications boolean NOT NULL DEFAULT true,
    recommendation_notifications boolean NOT NULL DEFAULT true,
    scan_failure_notifications boolean NOT NULL DEFAULT true,
    frequency text NOT NULL DEFAULT 'weekly' CHECK (frequency IN ('immediate', 'daily', 'weekly', 'never')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    user_id uuid REFERENCES users(id) ON DELETE CASCADE,
    action text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, created_at DESC);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS audit_log, notification_preferences, structure_observations, score_history,
    change_events, scans, settings_history, current_settings, connections, template_changes, templates,
    platforms, users CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
