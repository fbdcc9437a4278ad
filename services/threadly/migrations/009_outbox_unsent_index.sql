-- 009_outbox_unsent_index.sql - the unsent outbox rows, for the Kafka relay (docs/events.md):
-- marking rows sent (sent_at_ms = 0 AND seq <= n) walked every row up to n through the primary
-- key, i.e. the whole table on each acknowledged batch, holding SQLite's write lock meanwhile
-- (with 20,000 rows: about 30 ms per favourite end to end). This partial index holds only the
-- unsent rows, so marking costs the rows it marks. Portable SQL (SQLite and PostgreSQL both
-- have partial indexes).
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at_ms = 0;
