-- 0006_hot_indexes: indexes the relay's hot queries need once a backlog or a busy hour builds up
-- (found by relaying 100,000 messages: without them each pass of the job runner and each hourly-cap check
-- read pages in proportion to the table, and a backlog fed itself).

-- When the next delayed job is due: the minimum of a small partial index instead of a pass over all jobs.
CREATE INDEX jobs_delayed ON jobs(not_before) WHERE status = 'pending' AND not_before IS NOT NULL;

-- The hourly cap counts a sender's messages of the last hour (an album once): with the album id in the
-- index, the count reads the index alone, not every message's row.
DROP INDEX IF EXISTS messages_by_sender;
CREATE INDEX messages_by_sender ON messages(sender_id, created_at, media_group_id);
