-- 0012_sender_notices: a delay notice is owed to each sender who writes during an outage, not once per
-- connection (a worker who wrote after their manager had been told heard nothing while their messages waited).

-- The key's columns come first: SQLite 3.40's integrity_check reports a false "NULL value" for a column
-- between the key's columns of a WITHOUT ROWID table.
CREATE TABLE connection_notices_0012 (
    connection_id  INTEGER NOT NULL REFERENCES connections(id),
    kind           TEXT NOT NULL CHECK (kind IN ('delayed', 'counterpart_unreachable')),
    -- Who was told: the sender, for 'delayed'; 0 for a situation told to the connection as a whole
    -- (counterpart_unreachable, and the notices given before 0012).
    user_id        INTEGER NOT NULL DEFAULT 0 CHECK (user_id >= 0),
    since          TEXT NOT NULL CHECK (since IS strftime('%Y-%m-%d %H:%M:%f', since)),
    PRIMARY KEY (connection_id, kind, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO connection_notices_0012 (connection_id, kind, user_id, since) SELECT connection_id, kind, 0, since FROM connection_notices;
DROP TABLE connection_notices;
ALTER TABLE connection_notices_0012 RENAME TO connection_notices;
