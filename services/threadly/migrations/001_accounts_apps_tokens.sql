-- 001_accounts_apps_tokens.sql - accounts, OAuth applications and revoked access token ids.
-- Portable SQL, run unchanged by the SQLite and (later) PostgreSQL adapters: BIGINT, TEXT and
-- BOOLEAN only, no AUTOINCREMENT (ids come from lib/base/id), no transaction statements (the
-- runner wraps each file in its own transaction and records it in schema_migrations).

CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    discoverable BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_ms BIGINT NOT NULL,
    statuses_count BIGINT NOT NULL DEFAULT 0,
    followers_count BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0,
    last_status_at_ms BIGINT NOT NULL DEFAULT 0
);

-- Usernames are unique case-insensitively; lookups use the same expression so they hit it.
CREATE UNIQUE INDEX accounts_username_lower ON accounts (lower(username));

CREATE TABLE oauth_apps (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    website TEXT NOT NULL DEFAULT '',
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- account_id is 0 for app-only tokens (client_credentials), hence no foreign key.
CREATE TABLE revoked_tokens (
    jti BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    revoked_at_ms BIGINT NOT NULL
);
