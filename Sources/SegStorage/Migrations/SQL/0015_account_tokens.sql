-- Single-use tokens mailed to an account's address (issue 16): password reset now, address verification next. Only
-- the SHA-256 of a token is stored; a token is used once (used_at) and expires (expires_at, the database's clock).
-- Additive only: an older release neither reads nor writes this table.
SET LOCAL lock_timeout = '5s';

CREATE TABLE account_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CONSTRAINT account_tokens_purpose_check CHECK (purpose IN ('password-reset', 'verify-email')),
    token_hash bytea NOT NULL CONSTRAINT account_tokens_token_hash_key UNIQUE
        CONSTRAINT account_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- "Was one issued to this account a moment ago?" (requests are throttled per account).
CREATE INDEX account_tokens_user_purpose_idx ON account_tokens (user_id, purpose, created_at);
