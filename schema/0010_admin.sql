-- 0010_admin: the admin dashboard's accounts, sessions and one-time links; alerts to the admins; facts the
-- appliance keeps about itself; and erasure of a person.

-- Dashboard accounts. The password is kept only as a bcrypt hash (cost 12 or more), never itself.
CREATE TABLE admin_accounts (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64 AND username = lower(username)
                                               AND username NOT GLOB '*[^a-z0-9._@-]*'),
    password_hash  TEXT NOT NULL CHECK (length(password_hash) = 60 AND password_hash GLOB '$2[aby]$[1-3][0-9]$*'),
    created_at     TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at     TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at)),
    last_login_at  TEXT CHECK (last_login_at IS NULL OR last_login_at IS strftime('%Y-%m-%d %H:%M:%f', last_login_at))
) STRICT;

-- Dashboard sessions (hummingbird-auth's session storage). The key is the SHA-256 of the session id, so a
-- copy of the database (a backup) holds no live session.
CREATE TABLE admin_sessions (
    key_digest  TEXT PRIMARY KEY CHECK (length(key_digest) = 64 AND key_digest NOT GLOB '*[^0-9a-f]*'),
    value       TEXT NOT NULL CHECK (length(value) <= 4096),
    expires_at  TEXT CHECK (expires_at IS NULL OR expires_at IS strftime('%Y-%m-%d %H:%M:%f', expires_at))
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_sessions_by_expiry ON admin_sessions(expires_at) WHERE expires_at IS NOT NULL;

-- One-time links, by the SHA-256 of their token: a setup link (no account: it makes the first one) or a
-- login link for an account. Used once, within its time.
CREATE TABLE admin_links (
    digest      TEXT PRIMARY KEY CHECK (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'),
    account_id  INTEGER REFERENCES admin_accounts(id),
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    expires_at  TEXT NOT NULL CHECK (expires_at IS strftime('%Y-%m-%d %H:%M:%f', expires_at)),
    used_at     TEXT CHECK (used_at IS NULL OR used_at IS strftime('%Y-%m-%d %H:%M:%f', used_at))
) STRICT, WITHOUT ROWID;

-- Alerts to the admins, one row per condition: raised while it holds (the admins told once), cleared when it
-- stops (told again). A condition that comes back soon after clearing is not told twice within the quiet time.
CREATE TABLE alerts (
    condition    TEXT PRIMARY KEY CHECK (length(condition) BETWEEN 1 AND 64 AND condition NOT GLOB '*[^a-z0-9_:]*'),
    detail       TEXT CHECK (detail IS NULL OR length(detail) <= 512),
    raised_at    TEXT NOT NULL CHECK (raised_at IS strftime('%Y-%m-%d %H:%M:%f', raised_at)),
    notified_at  TEXT CHECK (notified_at IS NULL OR notified_at IS strftime('%Y-%m-%d %H:%M:%f', notified_at)),
    cleared_at   TEXT CHECK (cleared_at IS NULL OR cleared_at IS strftime('%Y-%m-%d %H:%M:%f', cleared_at))
) STRICT, WITHOUT ROWID;

-- Facts the appliance keeps about itself (the readiness probe's last write, the last scheduled backup).
CREATE TABLE app_state (
    key         TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
    value       TEXT NOT NULL CHECK (length(value) <= 1024),
    updated_at  TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at))
) STRICT, WITHOUT ROWID;

-- A person erased by an admin: their name, username and texts are gone; the rows (and counts) stay.
ALTER TABLE users ADD COLUMN erased_at TEXT CHECK (erased_at IS NULL OR erased_at IS strftime('%Y-%m-%d %H:%M:%f', erased_at));

-- The dashboard's overview: active connections per slot, and the feedback inbox, newest first.
CREATE INDEX connections_active_by_slot ON connections(bot_slot) WHERE status = 'active';
