-- 005_statuses_walk_index.sql - an index that holds what the home timeline filters on, in id
-- order. Portable SQL as 001.
--
-- The SQLite home timeline walks statuses newest first and keeps the rows whose author the
-- viewer follows (status_store_sqlite.c, TL_HOME): on the benchmark seed it reads about 400
-- rows for a page of 20. Through the primary key each row costs a second B-tree search for
-- account_id and visibility (ids are BIGINT PRIMARY KEY, not SQLite's rowid); this index
-- carries both, so the walk touches the table only for the rows it returns.
CREATE INDEX statuses_id_account_id_visibility ON statuses (id, account_id, visibility);
