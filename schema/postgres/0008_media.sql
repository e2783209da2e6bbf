-- 0008_media (PostgreSQL twin of schema/0008_media.sql).

CREATE TABLE message_copies (
    message_id       BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    part             BIGINT NOT NULL CHECK (part BETWEEN 0 AND 99),
    connection_id    BIGINT NOT NULL,
    chat_message_id  BIGINT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('text', 'caption', 'bare')),
    revision         BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0),
    created_at       TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (message_id, part)
);
CREATE INDEX message_copies_by_chat_message ON message_copies(connection_id, chat_message_id);
CREATE INDEX messages_by_source ON messages(connection_id, source_message_id);

ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'caption', 'bare'));
ALTER TABLE messages ADD COLUMN reply_to_id BIGINT;
ALTER TABLE messages ADD COLUMN entities JSON;
ALTER TABLE messages ADD COLUMN revision BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0);
ALTER TABLE messages ADD COLUMN translated_revision BIGINT CHECK (translated_revision IS NULL OR translated_revision >= 0);
ALTER TABLE messages ADD COLUMN edited_at TIMESTAMPTZ(3);
ALTER TABLE messages ADD COLUMN withdrawn_at TIMESTAMPTZ(3);

CREATE INDEX outbox_by_message ON outbox(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX tasks_by_message ON tasks(message_id) WHERE message_id IS NOT NULL;

ALTER TABLE users ADD COLUMN show_original BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN delivery_marks BOOLEAN NOT NULL DEFAULT TRUE;
