-- 010_outbox_staged.sql - PostgreSQL writers no longer queue on one lock to give seqs
-- (docs/storage.md, "Outbox"). A PostgreSQL writer appends its events with a negative,
-- provisional seq (minus the event id) and staged_us, the server's clock_timestamp() in
-- microseconds at the insert; a sequencer (any reader of the outbox, one at a time under an
-- advisory lock) later gives the committed provisional rows their real seqs, in staged_us
-- order, after every seq already given. Readers only read seq > 0, so a seq they have seen
-- is never followed by a smaller one. SQLite still gives the real seq at the insert (its
-- writers are serialised) and leaves staged_us 0. Portable SQL as 003.
ALTER TABLE outbox ADD COLUMN staged_us BIGINT NOT NULL DEFAULT 0;
