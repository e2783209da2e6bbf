-- 0005_delivery: what the delivery guarantees need.

-- The conversation message an outbox row carries (NULL for BridgeOS's own texts), so that a row that
-- fails for good tells that message's sender. No foreign key: retention deletes messages on its own
-- schedule, and a row whose message is gone simply has nobody left to tell.
ALTER TABLE outbox ADD COLUMN message_id INTEGER;

-- When the sender of a message was told it could not be delivered: at most once per message, however
-- many rows (split texts, a media copy and its caption) it took.
ALTER TABLE messages ADD COLUMN undelivered_notice_at TEXT
    CHECK (undelivered_notice_at IS NULL OR undelivered_notice_at IS strftime('%Y-%m-%d %H:%M:%f', undelivered_notice_at));

-- An album (a Telegram media group) counts as one message against the hourly cap.
ALTER TABLE messages ADD COLUMN media_group_id TEXT CHECK (media_group_id IS NULL OR length(media_group_id) BETWEEN 1 AND 64);

-- Notices a person gets at most once per period: the monthly quota refusal and upsell, the hourly cap.
-- `period` names the period the notice was given for (e.g. '2026-12' or '2026-12-02 08'); a notice of a
-- new period replaces the row.
CREATE TABLE person_notices (
    user_id   INTEGER NOT NULL CHECK (user_id > 0),
    kind      TEXT NOT NULL CHECK (kind IN ('quota_refused', 'upsell', 'hourly_cap')),
    period    TEXT NOT NULL CHECK (length(period) BETWEEN 1 AND 32),
    sent_at   TEXT NOT NULL CHECK (sent_at IS strftime('%Y-%m-%d %H:%M:%f', sent_at)),
    PRIMARY KEY (user_id, kind)
) STRICT, WITHOUT ROWID;

-- Rows of a chat not yet delivered (waiting, or held for an unreachable chat), oldest first: the sender
-- checks that no older row of a chat still waits before it sends a newer one (held rows queued again go
-- first), and queuing a chat's held rows again finds them without reading its history.
CREATE INDEX outbox_waiting_by_chat ON outbox(bot_slot, chat_id, id) WHERE status IN ('pending', 'unreachable');

-- When a chat that could not be written to became reachable again (unblocked, started): a 403 answering a
-- call made before then is stale and does not hold the chat again.
ALTER TABLE bot_chats ADD COLUMN reopened_at TEXT
    CHECK (reopened_at IS NULL OR reopened_at IS strftime('%Y-%m-%d %H:%M:%f', reopened_at));
