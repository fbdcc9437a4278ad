-- 003_token_cutoffs.sql - from account.tokens_revoked (a password reset in threadly-service):
-- the account's access tokens whose jti is below revoked_below_jti are refused, as
-- threadly-service refuses them (docs/events.md). The same SQL on SQLite and PostgreSQL.
CREATE TABLE token_cutoffs (
    account_id BIGINT PRIMARY KEY,
    revoked_below_jti BIGINT NOT NULL
);
