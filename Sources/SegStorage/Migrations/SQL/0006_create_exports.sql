-- Export archives built by export jobs.
SET LOCAL lock_timeout = '5s';

CREATE TABLE exports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
    format text NOT NULL,
    state text NOT NULL DEFAULT 'pending'
        CONSTRAINT exports_state_check CHECK (state IN ('pending', 'ready', 'failed', 'expired')),
    object_key text,
    bytes bigint CHECK (bytes >= 0),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX exports_project_id_created_at_id_idx ON exports (project_id, created_at, id);
CREATE INDEX exports_object_key_idx ON exports (object_key);
