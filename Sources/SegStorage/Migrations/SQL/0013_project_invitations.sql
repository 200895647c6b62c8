-- Pending invitations (issue 15, point 9): an owner added an address that has no account. Adding a member answers
-- the same whether or not the address has an account; an unknown one waits here and becomes a membership with the
-- invited role when that address signs up (ProjectInvitationRepository.activate). The email issue will add a token
-- column (nullable) to mail the invitation.
-- Additive only: an older release neither reads nor writes this table during a blue-green switch (it still answers
-- 404 USER_NOT_FOUND for an unknown address); an account made by it is activated at its next login.
SET LOCAL lock_timeout = '5s';

CREATE TABLE project_invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- As the owner last typed it (trimmed); compared by lower(email), as users.email is (users_email_lower_key).
    email text NOT NULL CONSTRAINT project_invitations_email_check CHECK (email <> '' AND octet_length(email) <= 254),
    role text NOT NULL CONSTRAINT project_invitations_role_check CHECK (role IN ('editor', 'viewer')),
    -- Who invited. The invitation is the project's, not the inviter's: it outlives that account, as a share link
    -- outlives its creator (share_links.created_by). An owner's account cannot be deleted anyway (projects_owner_id_fkey).
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One invitation per project and address in any letter case; inviting again changes the role.
CREATE UNIQUE INDEX project_invitations_project_email_key ON project_invitations (project_id, lower(email));
-- Signing up activates every invitation of the new account's address.
CREATE INDEX project_invitations_email_idx ON project_invitations (lower(email));
-- The member list pages through a project's invitations with its members, by (created_at, id).
CREATE INDEX project_invitations_project_id_created_at_id_idx ON project_invitations (project_id, created_at, id);
