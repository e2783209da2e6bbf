-- 0008_media: what media, albums, replies, edits, reactions and withdrawals need.

-- Where a relayed message landed: the Telegram message ids of its copy in the recipient's chat (a long
-- text, or a media copy with its long caption as a follow-up text, takes more than one part). Replies,
-- edits, reactions and /unsend find the counterpart's copy here; it lives exactly as long as its message.
CREATE TABLE message_copies (
    message_id       INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    part             INTEGER NOT NULL CHECK (part BETWEEN 0 AND 99),
    connection_id    INTEGER NOT NULL,
    chat_message_id  INTEGER NOT NULL,
    -- text: a text message (edited with editMessageText); caption: media whose caption carries the text
    -- (editMessageCaption); bare: media without a text of its own (a sticker, a location, an album item).
    kind             TEXT NOT NULL CHECK (kind IN ('text', 'caption', 'bare')),
    -- Which edit of the message the copy shows (messages.revision when it was sent or last edited).
    revision         INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    created_at       TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    PRIMARY KEY (message_id, part)
) STRICT, WITHOUT ROWID;
-- A reply, a reaction or /unsend names a message by its id in one chat of a connection.
CREATE INDEX message_copies_by_chat_message ON message_copies(connection_id, chat_message_id);
CREATE INDEX messages_by_source ON messages(connection_id, source_message_id);

-- What its copy is: a text message, media carrying the text as its caption, or media that takes no caption.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'caption', 'bare'));
-- The conversation message this one replies to (no foreign key: retention may delete it first).
ALTER TABLE messages ADD COLUMN reply_to_id INTEGER;
-- The text's entities (bold, links…) as Telegram sent them, JSON; NULL when there are none.
ALTER TABLE messages ADD COLUMN entities TEXT CHECK (entities IS NULL OR json_valid(entities));
-- Edits received (0: as first sent), and the edit whose translation went (or is going) to the counterpart.
ALTER TABLE messages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0);
ALTER TABLE messages ADD COLUMN translated_revision INTEGER CHECK (translated_revision IS NULL OR translated_revision >= 0);
ALTER TABLE messages ADD COLUMN edited_at TEXT
    CHECK (edited_at IS NULL OR edited_at IS strftime('%Y-%m-%d %H:%M:%f', edited_at));
-- /unsend: the sender withdrew it (the copy is deleted, or said to be withdrawn after Telegram's 48 hours).
ALTER TABLE messages ADD COLUMN withdrawn_at TEXT
    CHECK (withdrawn_at IS NULL OR withdrawn_at IS strftime('%Y-%m-%d %H:%M:%f', withdrawn_at));

-- The rows carrying a message (its parts, its copy): an edit follows them, /unsend drops those not sent yet,
-- and a message is delivered when none is left open.
CREATE INDEX outbox_by_message ON outbox(message_id) WHERE message_id IS NOT NULL;
-- An edit or /unsend of a task's message finds the task.
CREATE INDEX tasks_by_message ON tasks(message_id) WHERE message_id IS NOT NULL;

-- Per person: translated messages also show the original text; the bot marks their own message 👌 when
-- its translation was delivered.
ALTER TABLE users ADD COLUMN show_original INTEGER NOT NULL DEFAULT 0 CHECK (show_original IN (0, 1));
ALTER TABLE users ADD COLUMN delivery_marks INTEGER NOT NULL DEFAULT 1 CHECK (delivery_marks IN (0, 1));
