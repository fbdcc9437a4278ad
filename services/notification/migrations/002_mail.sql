-- 002_mail.sql - the mail outbox of notification-service (docs/email.md), identical on SQLite and
-- PostgreSQL. Times are Unix milliseconds.

-- Who mails go to: kept from account.created (email, username) and account.updated (names).
CREATE TABLE mail_recipients (
    account_id BIGINT PRIMARY KEY,
    email TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    locale TEXT NOT NULL
);

-- Which notification mails an account wants (1 on, 0 off), and the token of its unsubscribe
-- links (random, unique, never changes).
CREATE TABLE mail_prefs (
    account_id BIGINT PRIMARY KEY,
    follow INTEGER NOT NULL,
    mention INTEGER NOT NULL,
    favourite INTEGER NOT NULL,
    unsubscribe_token TEXT NOT NULL UNIQUE
);

-- Every mail decision, one row per (event, recipient, kind): UNIQUE, so an event delivered again
-- (or after a restart) never makes a second mail. state: 0 queued, 1 sent, 2 dead (last_error
-- is the reason), 3 held (flood control: summed up in a digest), 4 skipped (preferences off).
-- data is the whole RFC 5322 message, formatted once at enqueue, so retries send the same bytes
-- (the same Message-ID).
CREATE TABLE mail_jobs (
    id BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL,
    recipient_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    data TEXT NOT NULL,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    sent_at_ms BIGINT NOT NULL,
    last_error TEXT NOT NULL,
    UNIQUE (event_id, recipient_id, kind)
);
CREATE INDEX mail_jobs_due ON mail_jobs (state, next_attempt_at_ms);

-- Flood control per (account, kind): when the last mail of that kind was queued, and what was
-- held back since (count and the first few actor names) for the next digest.
CREATE TABLE mail_flood (
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    last_sent_at_ms BIGINT NOT NULL,
    held INTEGER NOT NULL,
    held_names TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);
CREATE INDEX mail_flood_due ON mail_flood (held, last_sent_at_ms);
