-- Address verification and mailed invitations (issue 16).
--
-- users.email_verified_at: when the account proved it receives mail at its address (a verification link, a password
-- reset link or an invitation link followed, or an administrator vouching with segctl). Pending invitations become
-- memberships only for a verified address, so that nobody can take a project's invitation by signing up with the
-- invitee's address first. Accounts that exist before this release count as verified (docs/decisions.md, "Address
-- verification"): they were made members directly until now, and an operator who turns on
-- SEG_REQUIRE_EMAIL_VERIFICATION must not lock every existing user out.
--
-- project_invitations.token_hash: the SHA-256 of the token in the invitation's mail (the link's token is shown only
-- there); token_expires_at bounds it, mailed_at throttles repeated mail to one address.
--
-- Additive only: an older release neither reads nor writes these columns during a blue-green switch; an account it
-- creates is unverified and can ask for a verification link.
SET LOCAL lock_timeout = '5s';

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

ALTER TABLE project_invitations
    ADD COLUMN token_hash bytea CONSTRAINT project_invitations_token_hash_key UNIQUE
        CONSTRAINT project_invitations_token_hash_check CHECK (octet_length(token_hash) = 32),
    ADD COLUMN token_expires_at timestamptz,
    ADD COLUMN mailed_at timestamptz;
