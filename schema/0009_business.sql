-- 0009_business: subscriptions kept in step with LemonSqueezy's webhooks, referrals, and feedback that the
-- admins answer.

-- Every webhook delivery, named by the SHA-256 of its raw body: a replayed delivery changes nothing.
CREATE TABLE webhook_deliveries (
    digest       TEXT PRIMARY KEY CHECK (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'),
    provider     TEXT NOT NULL CHECK (provider IN ('lemonsqueezy')),
    event        TEXT NOT NULL CHECK (length(event) BETWEEN 1 AND 64),
    -- applied: it changed the state. stale: older than what is known (nothing changed). ignored: about
    -- nobody BridgeOS knows, or an event it does not act on.
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored')),
    detail       TEXT CHECK (detail IS NULL OR length(detail) <= 512),
    received_at  TEXT NOT NULL CHECK (received_at IS strftime('%Y-%m-%d %H:%M:%f', received_at))
) STRICT, WITHOUT ROWID;
CREATE INDEX webhook_deliveries_by_received_at ON webhook_deliveries(received_at);

-- The plan's name, and the provider's own time of the state recorded: an older event never overwrites it.
ALTER TABLE subscriptions ADD COLUMN plan TEXT CHECK (plan IS NULL OR length(plan) BETWEEN 1 AND 256);
ALTER TABLE subscriptions ADD COLUMN provider_updated_at TEXT
    CHECK (provider_updated_at IS NULL OR provider_updated_at IS strftime('%Y-%m-%d %H:%M:%f', provider_updated_at));
-- The last payment's outcome (subscription invoices), with the provider's time of it.
ALTER TABLE subscriptions ADD COLUMN payment_status TEXT CHECK (payment_status IS NULL OR payment_status IN ('paid', 'failed'));
ALTER TABLE subscriptions ADD COLUMN payment_updated_at TEXT
    CHECK (payment_updated_at IS NULL OR payment_updated_at IS strftime('%Y-%m-%d %H:%M:%f', payment_updated_at));

-- A manager who registered through another's /refer link: once per referred manager (the key), never
-- their own; the reward went to the referrer in the same transaction.
CREATE TABLE referrals (
    referred_id      INTEGER PRIMARY KEY REFERENCES managers(id),
    referrer_id      INTEGER NOT NULL REFERENCES managers(id),
    reward_messages  INTEGER NOT NULL CHECK (reward_messages >= 0),
    created_at       TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at)),
    CHECK (referred_id <> referrer_id)
) STRICT;
CREATE INDEX referrals_by_referrer ON referrals(referrer_id);

-- Extra free messages (referral rewards): spent once the month's free messages are used up; they do not expire.
ALTER TABLE usage_tracking ADD COLUMN bonus_messages INTEGER NOT NULL DEFAULT 0 CHECK (bonus_messages >= 0);

-- Feedback: the writer's language and bot (the answer comes back through it), and the admin's answer.
ALTER TABLE feedback ADD COLUMN language TEXT CHECK (language IS NULL OR length(language) BETWEEN 2 AND 16);
ALTER TABLE feedback ADD COLUMN bot_slot INTEGER CHECK (bot_slot IS NULL OR bot_slot BETWEEN 1 AND 5);
ALTER TABLE feedback ADD COLUMN answer TEXT CHECK (answer IS NULL OR length(answer) BETWEEN 1 AND 4096);
ALTER TABLE feedback ADD COLUMN answered_by INTEGER;
ALTER TABLE feedback ADD COLUMN answered_at TEXT
    CHECK (answered_at IS NULL OR answered_at IS strftime('%Y-%m-%d %H:%M:%f', answered_at));

-- The notices of a feedback in the admins' chats: an admin answers by replying to one. Written with the
-- outbox row that carries it; the Telegram message id is filled in when Telegram took it.
CREATE TABLE feedback_notices (
    outbox_id        INTEGER PRIMARY KEY,  -- no foreign key: sent rows are pruned, the notice stays
    feedback_id      INTEGER NOT NULL REFERENCES feedback(id),
    admin_id         INTEGER NOT NULL,
    bot_slot         INTEGER NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    chat_message_id  INTEGER,
    created_at       TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at))
) STRICT;
CREATE INDEX feedback_notices_by_chat_message ON feedback_notices(bot_slot, admin_id, chat_message_id)
    WHERE chat_message_id IS NOT NULL;
CREATE INDEX feedback_notices_by_feedback ON feedback_notices(feedback_id);
