-- 0001_initial: the BridgeOS core schema.
--
-- Conventions (see README "Storage"):
-- * Every table is STRICT; booleans are INTEGER 0/1.
-- * Telegram ids are 64-bit INTEGERs and are the primary keys of users, managers and workers.
-- * Timestamps are UTC TEXT in the canonical form 'YYYY-MM-DD HH:MM:SS.SSS' (what GRDB writes for a Date).
--   The CHECKs below reject any other spelling, so every value converts losslessly to a PostgreSQL
--   TIMESTAMPTZ (read as UTC) at millisecond precision.
-- * Nothing is hard-deleted except messages past retention: managers and workers are soft-deleted,
--   connections end with status 'disconnected'. History stays.

-- Identity: one row per Telegram user who has registered in any role.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY CHECK (id > 0),  -- Telegram user id
    display_name  TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    username      TEXT CHECK (username IS NULL OR length(username) BETWEEN 1 AND 64),
    language      TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 16
                                       AND language NOT GLOB '*[^A-Za-z-]*'),
    gender        TEXT NOT NULL DEFAULT 'unspecified'
                       CHECK (gender IN ('female', 'male', 'unspecified')),
    created_at    TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at    TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at))
) STRICT;

-- A manager owns up to five connections, one per bot slot.
CREATE TABLE managers (
    id          INTEGER PRIMARY KEY REFERENCES users(id),
    code        TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 6 AND 32
                                            AND code NOT GLOB '*[^A-Za-z0-9]*'),
    industry    TEXT NOT NULL CHECK (length(industry) BETWEEN 1 AND 64
                                     AND industry NOT GLOB '*[^a-z0-9_]*'),
    time_zone   TEXT NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at  TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at)),
    deleted_at  TEXT CHECK (deleted_at IS NULL OR deleted_at IS strftime('%Y-%m-%d %H:%M:%f', deleted_at))
) STRICT;

CREATE TABLE workers (
    id          INTEGER PRIMARY KEY REFERENCES users(id),
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at  TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at)),
    deleted_at  TEXT CHECK (deleted_at IS NULL OR deleted_at IS strftime('%Y-%m-%d %H:%M:%f', deleted_at))
) STRICT;

-- The core relationship: manager M talks to worker W through bot slot S.
CREATE TABLE connections (
    id               INTEGER PRIMARY KEY,
    manager_id       INTEGER NOT NULL REFERENCES managers(id),
    worker_id        INTEGER NOT NULL REFERENCES workers(id),
    bot_slot         INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disconnected')),
    connected_at     TEXT NOT NULL CHECK (connected_at IS strftime('%Y-%m-%d %H:%M:%f', connected_at)),
    disconnected_at  TEXT CHECK (disconnected_at IS NULL
                                 OR disconnected_at IS strftime('%Y-%m-%d %H:%M:%f', disconnected_at)),
    CHECK ((status = 'active') = (disconnected_at IS NULL)),
    CHECK (manager_id <> worker_id)
) STRICT;

-- The two guards. The database, not application code, decides every race:
-- at most one active connection per (manager, slot) ...
CREATE UNIQUE INDEX connections_one_active_per_manager_slot
    ON connections(manager_id, bot_slot) WHERE status = 'active';
-- ... and at most one active connection per worker.
CREATE UNIQUE INDEX connections_one_active_per_worker
    ON connections(worker_id) WHERE status = 'active';
-- History lookups (all connections of a manager or of a worker, newest first).
CREATE INDEX connections_by_manager ON connections(manager_id, bot_slot, connected_at);
CREATE INDEX connections_by_worker ON connections(worker_id, connected_at);

-- Conversation history. AUTOINCREMENT: ids never come back after retention deletes, so id order is
-- insertion order for the lifetime of the file.
CREATE TABLE messages (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id         INTEGER NOT NULL REFERENCES connections(id),
    sender_id             INTEGER NOT NULL REFERENCES users(id),
    original_text         TEXT NOT NULL,
    translated_text       TEXT,
    source_language       TEXT NOT NULL CHECK (length(source_language) BETWEEN 2 AND 16),
    target_language       TEXT NOT NULL CHECK (length(target_language) BETWEEN 2 AND 16),
    source_message_id     INTEGER,  -- Telegram message id in the sender's chat
    delivered_message_id  INTEGER,  -- Telegram message id in the recipient's chat, once delivered
    created_at            TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at))
) STRICT;
CREATE INDEX messages_by_connection ON messages(connection_id, id);
CREATE INDEX messages_by_created_at ON messages(created_at);

-- A message's sender must be one of the two people of its connection.
CREATE TRIGGER messages_sender_is_party
BEFORE INSERT ON messages
WHEN NOT EXISTS (
    SELECT 1 FROM connections
    WHERE id = NEW.connection_id AND NEW.sender_id IN (manager_id, worker_id)
)
BEGIN
    SELECT RAISE(ABORT, 'message sender is not a party of the connection');
END;

CREATE TABLE tasks (
    id                      INTEGER PRIMARY KEY,
    connection_id           INTEGER NOT NULL REFERENCES connections(id),
    description             TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 4096),
    description_translated  TEXT,
    status                  TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    created_at              TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    completed_at            TEXT CHECK (completed_at IS NULL
                                        OR completed_at IS strftime('%Y-%m-%d %H:%M:%f', completed_at)),
    CHECK ((status = 'done') = (completed_at IS NOT NULL))
) STRICT;
CREATE INDEX tasks_by_connection ON tasks(connection_id, id);

-- Billing state mirrored from the payment provider; one subscription per manager.
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    manager_id   INTEGER NOT NULL UNIQUE REFERENCES managers(id),
    external_id  TEXT UNIQUE CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 128),
    status       TEXT NOT NULL CHECK (status IN ('on_trial', 'active', 'past_due', 'paused',
                                                 'unpaid', 'cancelled', 'expired')),
    renews_at    TEXT CHECK (renews_at IS NULL OR renews_at IS strftime('%Y-%m-%d %H:%M:%f', renews_at)),
    ends_at      TEXT CHECK (ends_at IS NULL OR ends_at IS strftime('%Y-%m-%d %H:%M:%f', ends_at)),
    portal_url   TEXT CHECK (portal_url IS NULL OR portal_url GLOB 'https://?*'),
    created_at   TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at   TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at))
) STRICT;

-- Free-tier metering: translated messages in the current period (calendar month, UTC).
CREATE TABLE usage_tracking (
    manager_id      INTEGER PRIMARY KEY REFERENCES managers(id),
    period_start    TEXT NOT NULL CHECK (period_start IS strftime('%Y-%m-%d %H:%M:%f', period_start)),
    messages_count  INTEGER NOT NULL DEFAULT 0 CHECK (messages_count >= 0),
    is_blocked      INTEGER NOT NULL DEFAULT 0 CHECK (is_blocked IN (0, 1)),
    updated_at      TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at))
) STRICT;

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    message     TEXT NOT NULL CHECK (length(message) BETWEEN 1 AND 4096),
    status      TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'read')),
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    read_at     TEXT CHECK (read_at IS NULL OR read_at IS strftime('%Y-%m-%d %H:%M:%f', read_at)),
    CHECK ((status = 'read') = (read_at IS NOT NULL))
) STRICT;
CREATE INDEX feedback_by_status ON feedback(status, id);
CREATE INDEX feedback_by_user ON feedback(user_id, id);
