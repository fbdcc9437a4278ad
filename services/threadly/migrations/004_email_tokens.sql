-- 004_email_tokens.sql - single-use, expiring tokens sent by email (account confirmation and
-- password reset), and which accounts have confirmed their email. Portable SQL as 001..003.
--
-- token_hash is BASE64URL(SHA-256(token)): the token itself is only ever in the email (and the
-- event that asks for it), so a copy of the database does not let anyone confirm or reset.
-- kind: 1 = confirmation, 2 = password reset. used_at_ms: 0 until the token is used; a used or
-- expired token is refused. Rows are kept (small) so a second click says "already used".
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    account_id BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX email_tokens_account ON email_tokens (account_id, kind);

-- An account is confirmed when it has a row here. Accounts that existed before this migration
-- are taken as confirmed: they could log in before, and must still be able to.
CREATE TABLE email_confirmations (
    account_id BIGINT PRIMARY KEY,
    confirmed_at_ms BIGINT NOT NULL
);
INSERT INTO email_confirmations (account_id, confirmed_at_ms)
    SELECT id, created_at_ms FROM accounts;

-- A password reset revokes every access token the account had (as Mastodon does): tokens of
-- the account whose jti is below revoked_below_jti are refused. jtis come from the id generator
-- (ADR 002), so they grow with the time they were issued at.
CREATE TABLE token_cutoffs (
    account_id BIGINT PRIMARY KEY,
    revoked_below_jti BIGINT NOT NULL
);
