-- Projects, their members and share links.
SET LOCAL lock_timeout = '5s';

CREATE TABLE projects (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    name text NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX projects_owner_id_created_at_id_idx ON projects (owner_id, created_at, id);
CREATE INDEX projects_created_at_id_idx ON projects (created_at, id);

CREATE TABLE project_members (
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CONSTRAINT project_members_role_check CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);

-- "Projects I am a member of", newest first.
CREATE INDEX project_members_user_id_created_at_idx ON project_members (user_id, created_at, project_id);
-- A project's members in the order they joined.
CREATE INDEX project_members_project_id_created_at_idx ON project_members (project_id, created_at, user_id);
-- Exactly the user in projects.owner_id holds the owner role (ownership moves in one transaction).
CREATE UNIQUE INDEX project_members_one_owner_key ON project_members (project_id) WHERE role = 'owner';

CREATE TABLE share_links (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- SHA-256 of the link's token; the token itself is never stored.
    token_hash bytea NOT NULL CONSTRAINT share_links_token_hash_key UNIQUE
        CONSTRAINT share_links_token_hash_check CHECK (octet_length(token_hash) = 32),
    role text NOT NULL CONSTRAINT share_links_role_check CHECK (role IN ('editor', 'viewer')),
    expires_at timestamptz NOT NULL,
    -- A link is single use: set once, by the user who accepted it.
    used_at timestamptz,
    used_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX share_links_project_id_created_at_id_idx ON share_links (project_id, created_at, id);
