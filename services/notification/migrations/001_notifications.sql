-- notification-service's tables, identical on SQLite and PostgreSQL (docs/notifications.md).
-- Ids are the sortable 63-bit ids of lib/base/id; times are Unix milliseconds.

-- type: the bit of enum notification_type (1 mention, 2 favourite, 4 follow, 8 follow_request),
-- so a types filter is one (type & mask) <> 0. cause: the removal key (domain/rules.h).
CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,
    type INTEGER NOT NULL,
    recipient_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    account_json TEXT NOT NULL,
    status_id BIGINT NOT NULL DEFAULT 0,
    status_json TEXT,
    event_id BIGINT NOT NULL,
    cause TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (event_id, recipient_id, type)
);
CREATE INDEX notifications_recipient ON notifications (recipient_id, id);
CREATE INDEX notifications_cause ON notifications (cause);
CREATE INDEX notifications_status ON notifications (status_id) WHERE status_id <> 0;

-- Ids of the events applied, so an event delivered twice changes nothing the second time.
CREATE TABLE processed_events (
    event_id BIGINT PRIMARY KEY,
    processed_at BIGINT NOT NULL
);

-- Read models kept from events.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    json TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE follows (
    followee_id BIGINT NOT NULL,
    follower_id BIGINT NOT NULL,
    PRIMARY KEY (followee_id, follower_id)
);
CREATE TABLE revoked_tokens (
    jti BIGINT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);

-- Mastodon read markers; timeline 1 home, 2 notifications.
CREATE TABLE markers (
    account_id BIGINT NOT NULL,
    timeline INTEGER NOT NULL,
    last_read_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, timeline)
);

-- Messages the consumer could not apply: as received (made valid UTF-8), and why.
CREATE TABLE dead_letters (
    id BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Where each transport's consumer is: written in the transaction of the batch it ends.
CREATE TABLE consumer_cursors (
    source TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
