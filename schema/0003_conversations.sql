-- 0003_conversations: what the conversation flows need to survive restarts.

-- Where a user is in a multi-step flow (registration, joining, a confirmation), per bot slot.
-- A restart, crash or deploy continues from here; a state older than its expiry is ignored.
CREATE TABLE conversation_states (
    bot_slot       INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    user_id        INTEGER NOT NULL CHECK (user_id > 0),
    flow           TEXT NOT NULL CHECK (length(flow) BETWEEN 1 AND 32),
    step           TEXT NOT NULL CHECK (length(step) BETWEEN 1 AND 32),
    data           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    updated_at     TEXT NOT NULL CHECK (updated_at IS strftime('%Y-%m-%d %H:%M:%f', updated_at)),
    expires_at     TEXT NOT NULL CHECK (expires_at IS strftime('%Y-%m-%d %H:%M:%f', expires_at)),
    PRIMARY KEY (bot_slot, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX conversation_states_by_expiry ON conversation_states(expires_at);

-- Single-use invites to a manager's slot. A new invite for the same slot revokes the unused one.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE CHECK (length(token) BETWEEN 12 AND 48 AND token NOT GLOB '*[^A-Za-z0-9]*'),
    manager_id  INTEGER NOT NULL REFERENCES managers(id),
    bot_slot    INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'used', 'revoked')),
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    expires_at  TEXT NOT NULL CHECK (expires_at IS strftime('%Y-%m-%d %H:%M:%f', expires_at)),
    used_by     INTEGER REFERENCES workers(id),
    used_at     TEXT CHECK (used_at IS NULL OR used_at IS strftime('%Y-%m-%d %H:%M:%f', used_at)),
    CHECK ((status = 'used') = (used_by IS NOT NULL AND used_at IS NOT NULL))
) STRICT;
-- At most one unused invite per manager and slot.
CREATE UNIQUE INDEX invites_one_active_per_slot ON invites(manager_id, bot_slot) WHERE status = 'active';
CREATE INDEX invites_by_manager ON invites(manager_id, bot_slot, id);
CREATE INDEX invites_by_worker ON invites(used_by);

-- Which bots a user has a chat with (pressed Start or wrote): a bot cannot write first.
CREATE TABLE bot_chats (
    bot_slot    INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    user_id     INTEGER NOT NULL CHECK (user_id > 0),
    started_at  TEXT NOT NULL CHECK (started_at IS strftime('%Y-%m-%d %H:%M:%f', started_at)),
    PRIMARY KEY (bot_slot, user_id)
) STRICT, WITHOUT ROWID;

-- The bot where a manager registered: notices go there when a slot's bot has no chat with them yet.
ALTER TABLE managers ADD COLUMN home_slot INTEGER CHECK (home_slot IS NULL OR home_slot BETWEEN 1 AND 5);
