-- 0005_delivery (PostgreSQL twin of schema/0005_delivery.sql).

ALTER TABLE outbox ADD COLUMN message_id BIGINT;

ALTER TABLE messages ADD COLUMN undelivered_notice_at TIMESTAMPTZ(3);

ALTER TABLE messages ADD COLUMN media_group_id TEXT
    CHECK (media_group_id IS NULL OR char_length(media_group_id) BETWEEN 1 AND 64);

CREATE TABLE person_notices (
    user_id   BIGINT NOT NULL CHECK (user_id > 0),
    kind      TEXT NOT NULL CHECK (kind IN ('quota_refused', 'upsell', 'hourly_cap')),
    period    TEXT NOT NULL CHECK (char_length(period) BETWEEN 1 AND 32),
    sent_at   TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE INDEX outbox_waiting_by_chat ON outbox(bot_slot, chat_id, id) WHERE status IN ('pending', 'unreachable');

ALTER TABLE bot_chats ADD COLUMN reopened_at TIMESTAMPTZ(3);
