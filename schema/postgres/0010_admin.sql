-- 0010_admin (PostgreSQL twin of schema/0010_admin.sql).

CREATE TABLE admin_accounts (
    id             BIGINT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE CHECK (char_length(username) BETWEEN 1 AND 64 AND username = lower(username)
                                               AND username !~ '[^a-z0-9._@-]'),
    password_hash  TEXT NOT NULL CHECK (char_length(password_hash) = 60 AND password_hash ~ '^\$2[aby]\$[1-3][0-9]\$'),
    created_at     TIMESTAMPTZ(3) NOT NULL,
    updated_at     TIMESTAMPTZ(3) NOT NULL,
    last_login_at  TIMESTAMPTZ(3)
);

CREATE TABLE admin_sessions (
    key_digest  TEXT PRIMARY KEY CHECK (char_length(key_digest) = 64 AND key_digest !~ '[^0-9a-f]'),
    value       TEXT NOT NULL CHECK (char_length(value) <= 4096),
    expires_at  TIMESTAMPTZ(3)
);
CREATE INDEX admin_sessions_by_expiry ON admin_sessions(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE admin_links (
    digest      TEXT PRIMARY KEY CHECK (char_length(digest) = 64 AND digest !~ '[^0-9a-f]'),
    account_id  BIGINT REFERENCES admin_accounts(id),
    created_at  TIMESTAMPTZ(3) NOT NULL,
    expires_at  TIMESTAMPTZ(3) NOT NULL,
    used_at     TIMESTAMPTZ(3)
);

CREATE TABLE alerts (
    condition    TEXT PRIMARY KEY CHECK (char_length(condition) BETWEEN 1 AND 64 AND condition !~ '[^a-z0-9_:]'),
    detail       TEXT CHECK (detail IS NULL OR char_length(detail) <= 512),
    raised_at    TIMESTAMPTZ(3) NOT NULL,
    notified_at  TIMESTAMPTZ(3),
    cleared_at   TIMESTAMPTZ(3)
);

CREATE TABLE app_state (
    key         TEXT PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 64),
    value       TEXT NOT NULL CHECK (char_length(value) <= 1024),
    updated_at  TIMESTAMPTZ(3) NOT NULL
);

ALTER TABLE users ADD COLUMN erased_at TIMESTAMPTZ(3);

CREATE INDEX connections_active_by_slot ON connections(bot_slot) WHERE status = 'active';
