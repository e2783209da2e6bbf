-- 0006_hot_indexes (PostgreSQL twin of schema/0006_hot_indexes.sql).

CREATE INDEX jobs_delayed ON jobs(not_before) WHERE status = 'pending' AND not_before IS NOT NULL;

DROP INDEX IF EXISTS messages_by_sender;
CREATE INDEX messages_by_sender ON messages(sender_id, created_at, media_group_id);
