-- 0002_runtime: durable plumbing for `bridgeos serve`.
--
-- An update is handled in one transaction that records it here, applies its effects, and queues what
-- must follow (outbox rows, jobs). Only then is it confirmed to Telegram. So a crash at any point
-- loses nothing (unconfirmed updates come again) and handles nothing twice (they are found here).

CREATE TABLE updates (
    bot_slot     INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    update_id    INTEGER NOT NULL,
    -- handled: done. failing: an attempt failed and will be retried. failed: given up after N attempts.
    status       TEXT NOT NULL CHECK (status IN ('handled', 'failing', 'failed')),
    kind         TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    last_error   TEXT,
    received_at  TEXT NOT NULL CHECK (received_at IS strftime('%Y-%m-%d %H:%M:%f', received_at)),
    updated_at   TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at)),
    PRIMARY KEY (bot_slot, update_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX updates_by_received_at ON updates(received_at);
CREATE INDEX updates_by_status ON updates(status, updated_at);

-- Messages and calls to Telegram, delivered by one sender per bot in id order per chat.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    bot_slot            INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    chat_id             INTEGER NOT NULL,
    method              TEXT NOT NULL CHECK (length(method) BETWEEN 1 AND 64),
    payload             TEXT NOT NULL CHECK (json_valid(payload)),
    -- chat: in order with the chat's other rows, within the per-chat rate.
    -- immediate: skips the chat queue (callback answers, in-place menu edits, which Telegram wants now).
    lane                TEXT NOT NULL DEFAULT 'chat' CHECK (lane IN ('chat', 'immediate')),
    is_group            INTEGER NOT NULL DEFAULT 0 CHECK (is_group IN (0, 1)),
    -- Waits until that row is sent; its Telegram message id is written into `depends_on_field` of the payload.
    depends_on          INTEGER REFERENCES outbox(id),
    depends_on_field    TEXT,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_flight', 'sent', 'dead', 'unreachable')),
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    not_before          TEXT CHECK (not_before IS NULL OR not_before IS strftime('%Y-%m-%d %H:%M:%f', not_before)),
    result              TEXT CHECK (result IS NULL OR json_valid(result)),
    result_message_id   INTEGER,
    last_error          TEXT,
    created_at          TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at          TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at)),
    sent_at             TEXT CHECK (sent_at IS NULL OR sent_at IS strftime('%Y-%m-%d %H:%M:%f', sent_at)),
    CHECK (depends_on_field IS NULL OR depends_on IS NOT NULL),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
) STRICT;
-- What a sender looks at: the open rows of its bot, oldest first.
CREATE INDEX outbox_open ON outbox(bot_slot, id) WHERE status IN ('pending', 'in_flight');
CREATE INDEX outbox_by_chat ON outbox(bot_slot, chat_id, id);
CREATE INDEX outbox_by_dependency ON outbox(depends_on) WHERE depends_on IS NOT NULL;
CREATE INDEX outbox_done_by_updated_at ON outbox(updated_at) WHERE status IN ('sent', 'dead', 'unreachable');
-- Rows that need a person's attention (dead letters, undelivered), for health and the dashboard.
CREATE INDEX outbox_problems ON outbox(status, id) WHERE status IN ('dead', 'unreachable');

-- Slow work (translation, summaries), run in order per queue key (one conversation = one key).
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    queue_key   TEXT NOT NULL CHECK (length(queue_key) BETWEEN 1 AND 128),
    payload     TEXT NOT NULL CHECK (json_valid(payload)),
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    not_before  TEXT CHECK (not_before IS NULL OR not_before IS strftime('%Y-%m-%d %H:%M:%f', not_before)),
    last_error  TEXT,
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    updated_at  TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at))
) STRICT;
CREATE INDEX jobs_open ON jobs(queue_key, id) WHERE status IN ('pending', 'running');
CREATE INDEX jobs_open_by_id ON jobs(id) WHERE status IN ('pending', 'running');
CREATE INDEX jobs_done_by_updated_at ON jobs(updated_at) WHERE status IN ('done', 'failed');

-- Chats a bot may not write to (the user blocked it, or deleted their account), until they come back.
CREATE TABLE unreachable_chats (
    bot_slot  INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    chat_id   INTEGER NOT NULL,
    reason    TEXT NOT NULL CHECK (reason IN ('blocked', 'deactivated', 'not_started', 'kicked')),
    since     TEXT NOT NULL CHECK (since IS strftime('%Y-%m-%d %H:%M:%f', since)),
    PRIMARY KEY (bot_slot, chat_id)
) STRICT, WITHOUT ROWID;
