-- 004_home_feed.sql - home timelines materialised on write ("fan-out on write"). Portable SQL
-- as 001 and 002.
--
-- A row (account_id, status_id) says that status_id is on account_id's home timeline: exactly
-- the statuses the home-timeline rule admits (status_store.h, TIMELINE_HOME): the account's
-- own statuses, the public, unlisted and private statuses of the accounts it follows
-- (accepted follows only), and the private and direct statuses that mention it. The store
-- adapters keep it so in the same transaction as the change: posting adds the rows, deleting
-- a status removes them, following adds the followee's statuses, unfollowing removes those
-- not kept by a mention. A home page is then one range of the primary key instead of a walk
-- of every status (0.45 ms a page on the benchmark seed, most of a request's budget).
-- author_id is the status' author, for unfollowing.

CREATE TABLE home_feed (
    account_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, status_id)
);

-- Deleting a status; unfollowing (account_id, author_id).
CREATE INDEX home_feed_status_id ON home_feed (status_id);
CREATE INDEX home_feed_account_id_author_id ON home_feed (account_id, author_id);

-- The rows for what is already stored.
INSERT INTO home_feed (account_id, status_id, author_id)
SELECT s.account_id, s.id, s.account_id FROM statuses s
UNION
SELECT f.follower_id, s.id, s.account_id FROM follows f
JOIN statuses s ON s.account_id = f.followee_id
WHERE f.requested = FALSE AND s.visibility IN (0, 1, 2)
UNION
SELECT m.account_id, s.id, s.account_id FROM status_mentions m
JOIN statuses s ON s.id = m.status_id
WHERE s.visibility IN (2, 3);
