-- 0004_relay (PostgreSQL twin of schema/0004_relay.sql).

CREATE INDEX messages_by_sender ON messages(sender_id, created_at);

CREATE TABLE connection_notices (
    connection_id  BIGINT NOT NULL REFERENCES connections(id),
    kind           TEXT NOT NULL CHECK (kind IN ('delayed', 'counterpart_unreachable')),
    since          TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (connection_id, kind)
);
