-- What `parley import` needs beyond the tables it fills: PostgreSQL spelling of
-- ../0011_imports.sql, which says why (ids are BIGINT here).

CREATE TABLE IF NOT EXISTS claim_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS claim_tokens_by_user ON claim_tokens (user_id);

CREATE TABLE IF NOT EXISTS imported_threads (
    message_id BIGINT PRIMARY KEY,
    room_id BIGINT NOT NULL,
    root_id BIGINT NOT NULL
);
