-- 002_statuses_follows_favourites.sql - statuses with their mentions and hashtags, follows
-- (and follow requests), favourites. Portable SQL as 001: BIGINT, TEXT, SMALLINT, BOOLEAN, no
-- AUTOINCREMENT, no transaction statements. Ids come from lib/base/id (63 bits, increasing in
-- time), so "ORDER BY id" is newest last and every list pages by id.

-- in_reply_to_id, in_reply_to_account_id and application_id are 0 when absent (as in
-- struct status). No foreign key on in_reply_to_id: replies outlive a deleted parent.
-- visibility: 0 public, 1 unlisted, 2 private, 3 direct (enum visibility).
CREATE TABLE statuses (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL DEFAULT '',
    visibility SMALLINT NOT NULL,
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    language TEXT NOT NULL DEFAULT '',
    in_reply_to_id BIGINT NOT NULL DEFAULT 0,
    in_reply_to_account_id BIGINT NOT NULL DEFAULT 0,
    application_id BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    replies_count BIGINT NOT NULL DEFAULT 0,
    favourites_count BIGINT NOT NULL DEFAULT 0,
    reblogs_count BIGINT NOT NULL DEFAULT 0
);

-- Account timelines, thread contexts, the public timeline.
CREATE INDEX statuses_account_id_id ON statuses (account_id, id);
CREATE INDEX statuses_in_reply_to_id_id ON statuses (in_reply_to_id, id);
CREATE INDEX statuses_visibility_id ON statuses (visibility, id);

-- position: order of appearance in the text, 0 first.
CREATE TABLE status_mentions (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (status_id, position)
);

-- Home timelines: the direct and private statuses that mention the viewer.
CREATE INDEX status_mentions_account_id ON status_mentions (account_id, status_id);

-- tag: lower-cased, without '#'.
CREATE TABLE status_tags (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (status_id, position)
);

-- Hashtag timelines (not yet served).
CREATE INDEX status_tags_tag ON status_tags (tag, status_id);

-- requested: a pending follow request to a locked account; not counted in followers_count or
-- following_count until accepted. UNIQUE also serves "whom does X follow" by followee.
CREATE TABLE follows (
    id BIGINT PRIMARY KEY,
    follower_id BIGINT NOT NULL,
    followee_id BIGINT NOT NULL,
    requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (follower_id, followee_id)
);

-- Followers and follow requests of an account, the accounts it follows; paged by row id.
CREATE INDEX follows_followee_id_id ON follows (followee_id, id);
CREATE INDEX follows_follower_id_id ON follows (follower_id, id);

CREATE TABLE favourites (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (account_id, status_id)
);

-- An account's favourites and a status' favourited-by list; paged by row id.
CREATE INDEX favourites_account_id_id ON favourites (account_id, id);
CREATE INDEX favourites_status_id_id ON favourites (status_id, id);
