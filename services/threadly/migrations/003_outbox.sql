-- 003_outbox.sql - the transactional outbox (docs/events.md): every domain event is written in
-- the same transaction as the change it reports, and read in seq order by the internal feed
-- (GET /internal/v1/events) and, later, the Kafka relay. Portable SQL as 001 and 002.
--
-- seq is given in commit order, never reused, by the writer inside its transaction: SQLite
-- serialises writers (BEGIN IMMEDIATE), so max(seq) + 1 is taken under the write lock;
-- PostgreSQL writers first take pg_advisory_xact_lock (adapters/pgsql/outbox_pgsql.c), which
-- they hold until commit, so a reader that has seen seq n never later finds a smaller one
-- committed. id is the event id (lib/base/id, unique across the service's events).
-- sent_at_ms: 0 until the Kafka relay has had the broker acknowledge the row.
CREATE TABLE outbox (
    seq BIGINT PRIMARY KEY,
    id BIGINT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    occurred_at_ms BIGINT NOT NULL,
    data TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL DEFAULT 0
);
