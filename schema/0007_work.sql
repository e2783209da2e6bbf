-- 0007_work: tasks with due times, confirmed instructions, announcements to the whole crew, daily summaries.

-- A task's conversation message (the translation carries it; no foreign key: retention deletes messages on
-- its own schedule), its due time, the one reminder the worker gets, and a worker's "can't do it".
ALTER TABLE tasks ADD COLUMN message_id INTEGER;
ALTER TABLE tasks ADD COLUMN due_at TEXT CHECK (due_at IS NULL OR due_at IS strftime('%Y-%m-%d %H:%M:%f', due_at));
ALTER TABLE tasks ADD COLUMN reminded_at TEXT
    CHECK (reminded_at IS NULL OR reminded_at IS strftime('%Y-%m-%d %H:%M:%f', reminded_at));
ALTER TABLE tasks ADD COLUMN declined_at TEXT
    CHECK (declined_at IS NULL OR declined_at IS strftime('%Y-%m-%d %H:%M:%f', declined_at));
ALTER TABLE tasks ADD COLUMN decline_reason TEXT CHECK (decline_reason IS NULL OR length(decline_reason) BETWEEN 1 AND 1024);

-- One message to every connected worker; the manager's summary message (the outbox row that sends it, and
-- a digest of the text it shows now, so that an edit is queued only when the text changes; the digest, not
-- the text: a message's words are kept only as long as retention keeps the message).
CREATE TABLE announcements (
    id                  INTEGER PRIMARY KEY,
    manager_id          INTEGER NOT NULL REFERENCES managers(id),
    bot_slot            INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    needs_confirmation  INTEGER NOT NULL CHECK (needs_confirmation IN (0, 1)),
    summary_outbox_id   INTEGER,
    summary_digest      TEXT CHECK (summary_digest IS NULL OR length(summary_digest) = 16),
    created_at          TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at))
) STRICT;

-- What became of a message the manager follows: a confirmed instruction, or one worker's copy of an
-- announcement. `message_id` is the conversation message (NULL when the usage limit refused it; no foreign
-- key, as above). A single confirmed instruction has its own status line in the manager's chat.
CREATE TABLE receipts (
    id                  INTEGER PRIMARY KEY,
    message_id          INTEGER UNIQUE,
    connection_id       INTEGER NOT NULL REFERENCES connections(id),
    announcement_id     INTEGER REFERENCES announcements(id),
    needs_confirmation  INTEGER NOT NULL CHECK (needs_confirmation IN (0, 1)),
    state               TEXT NOT NULL DEFAULT 'sending' CHECK (state IN ('sending', 'delivered', 'failed', 'refused')),
    status_outbox_id    INTEGER,
    status_digest       TEXT CHECK (status_digest IS NULL OR length(status_digest) = 16),
    delivered_at        TEXT CHECK (delivered_at IS NULL OR delivered_at IS strftime('%Y-%m-%d %H:%M:%f', delivered_at)),
    confirmed_at        TEXT CHECK (confirmed_at IS NULL OR confirmed_at IS strftime('%Y-%m-%d %H:%M:%f', confirmed_at)),
    reminded_at         TEXT CHECK (reminded_at IS NULL OR reminded_at IS strftime('%Y-%m-%d %H:%M:%f', reminded_at)),
    escalated_at        TEXT CHECK (escalated_at IS NULL OR escalated_at IS strftime('%Y-%m-%d %H:%M:%f', escalated_at)),
    created_at          TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    CHECK (message_id IS NOT NULL OR state = 'refused')
) STRICT;
CREATE INDEX receipts_by_announcement ON receipts(announcement_id, id) WHERE announcement_id IS NOT NULL;
CREATE INDEX receipts_by_connection ON receipts(connection_id);
CREATE INDEX announcements_by_manager ON announcements(manager_id);

-- The rows whose delivery someone follows (a receipt's message): the sender reports when Telegram took them.
ALTER TABLE outbox ADD COLUMN report_delivery INTEGER NOT NULL DEFAULT 0 CHECK (report_delivery IN (0, 1));

-- The hour (in the manager's time zone) of the scheduled daily summary; NULL: none.
ALTER TABLE managers ADD COLUMN daily_hour INTEGER CHECK (daily_hour IS NULL OR daily_hour BETWEEN 0 AND 23);

-- Scheduled summaries given: one per manager and local day, however often BridgeOS restarts.
CREATE TABLE daily_summaries (
    manager_id  INTEGER NOT NULL REFERENCES managers(id),
    local_day   TEXT NOT NULL CHECK (local_day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    sent_at     TEXT NOT NULL CHECK (sent_at IS strftime('%Y-%m-%d %H:%M:%f', sent_at)),
    PRIMARY KEY (manager_id, local_day)
) STRICT, WITHOUT ROWID;
