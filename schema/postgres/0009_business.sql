-- 0009_business (PostgreSQL twin of schema/0009_business.sql).

CREATE TABLE webhook_deliveries (
    digest       TEXT PRIMARY KEY CHECK (char_length(digest) = 64 AND digest !~ '[^0-9a-f]'),
    provider     TEXT NOT NULL CHECK (provider IN ('lemonsqueezy')),
    event        TEXT NOT NULL CHECK (char_length(event) BETWEEN 1 AND 64),
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored')),
    detail       TEXT CHECK (detail IS NULL OR char_length(detail) <= 512),
    received_at  TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX webhook_deliveries_by_received_at ON webhook_deliveries(received_at);

ALTER TABLE subscriptions ADD COLUMN plan TEXT CHECK (plan IS NULL OR char_length(plan) BETWEEN 1 AND 256);
ALTER TABLE subscriptions ADD COLUMN provider_updated_at TIMESTAMPTZ(3);
ALTER TABLE subscriptions ADD COLUMN payment_status TEXT CHECK (payment_status IS NULL OR payment_status IN ('paid', 'failed'));
ALTER TABLE subscriptions ADD COLUMN payment_updated_at TIMESTAMPTZ(3);

CREATE TABLE referrals (
    referred_id      BIGINT PRIMARY KEY REFERENCES managers(id),
    referrer_id      BIGINT NOT NULL REFERENCES managers(id),
    reward_messages  BIGINT NOT NULL CHECK (reward_messages >= 0),
    created_at       TIMESTAMPTZ(3) NOT NULL,
    CHECK (referred_id <> referrer_id)
);
CREATE INDEX referrals_by_referrer ON referrals(referrer_id);

ALTER TABLE usage_tracking ADD COLUMN bonus_messages BIGINT NOT NULL DEFAULT 0 CHECK (bonus_messages >= 0);

ALTER TABLE feedback ADD COLUMN language TEXT CHECK (language IS NULL OR char_length(language) BETWEEN 2 AND 16);
ALTER TABLE feedback ADD COLUMN bot_slot BIGINT CHECK (bot_slot IS NULL OR bot_slot BETWEEN 1 AND 5);
ALTER TABLE feedback ADD COLUMN answer TEXT CHECK (answer IS NULL OR char_length(answer) BETWEEN 1 AND 4096);
ALTER TABLE feedback ADD COLUMN answered_by BIGINT;
ALTER TABLE feedback ADD COLUMN answered_at TIMESTAMPTZ(3);

CREATE TABLE feedback_notices (
    outbox_id        BIGINT PRIMARY KEY,
    feedback_id      BIGINT NOT NULL REFERENCES feedback(id),
    admin_id         BIGINT NOT NULL,
    bot_slot         BIGINT NOT NULL CHECK (bot_slot BETWEEN 1 AND 5),
    chat_message_id  BIGINT,
    created_at       TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX feedback_notices_by_chat_message ON feedback_notices(bot_slot, admin_id, chat_message_id)
    WHERE chat_message_id IS NOT NULL;
CREATE INDEX feedback_notices_by_feedback ON feedback_notices(feedback_id);
