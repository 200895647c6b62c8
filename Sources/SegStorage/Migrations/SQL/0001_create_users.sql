-- Accounts and their refresh tokens (only hashes are stored).
SET LOCAL lock_timeout = '5s';

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL CHECK (email <> ''),
    name text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    role text NOT NULL DEFAULT 'user' CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    disabled_at timestamptz,
    -- Access tokens issued before this instant are rejected (logout everywhere, password change).
    tokens_valid_after timestamptz NOT NULL DEFAULT now(),
    must_change_password boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique regardless of case.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
-- `segctl users --role admin` and counting admins.
CREATE INDEX users_role_created_at_id_idx ON users (role, created_at, id);

CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SHA-256 of the token; the token itself is never stored.
    hash bytea NOT NULL CONSTRAINT refresh_tokens_hash_key UNIQUE
        CONSTRAINT refresh_tokens_hash_check CHECK (octet_length(hash) = 32),
    family uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    replaced_by uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- A rotation never extends a session past the absolute expiry of its family.
    CONSTRAINT refresh_tokens_expiry_check CHECK (expires_at <= absolute_expires_at)
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
-- Deleting expired tokens (expires_at is never later than absolute_expires_at).
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
