-- 0012_sender_notices (PostgreSQL twin of schema/0012_sender_notices.sql; the same columns in the same order).

CREATE TABLE connection_notices_0012 (
    connection_id  BIGINT NOT NULL REFERENCES connections(id),
    kind           TEXT NOT NULL CHECK (kind IN ('delayed', 'counterpart_unreachable')),
    user_id        BIGINT NOT NULL DEFAULT 0 CHECK (user_id >= 0),
    since          TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (connection_id, kind, user_id)
);
INSERT INTO connection_notices_0012 (connection_id, kind, user_id, since) SELECT connection_id, kind, 0, since FROM connection_notices;
DROP TABLE connection_notices;
ALTER TABLE connection_notices_0012 RENAME TO connection_notices;
ALTER TABLE connection_notices RENAME CONSTRAINT connection_notices_0012_pkey TO connection_notices_pkey;
