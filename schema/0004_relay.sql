-- 0004_relay: what the translation relay needs.

-- The per-user flood limit counts a sender's recent messages.
CREATE INDEX messages_by_sender ON messages(sender_id, created_at);

-- Notices a connection's people were given once and must not be given again until the situation changes
-- (a provider outage delaying delivery; a counterpart who blocked the bot).
CREATE TABLE connection_notices (
    connection_id  INTEGER NOT NULL REFERENCES connections(id),
    kind           TEXT NOT NULL CHECK (kind IN ('delayed', 'counterpart_unreachable')),
    since          TEXT NOT NULL CHECK (since IS strftime('%Y-%m-%d %H:%M:%f', since)),
    PRIMARY KEY (connection_id, kind)
) STRICT, WITHOUT ROWID;
