-- Export archives built by export jobs.
SET LOCAL lock_timeout = '5s';

CREATE TABLE exports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- Who asked for it.
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'queued'
        CONSTRAINT exports_status_check CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    progress real NOT NULL DEFAULT 0 CONSTRAINT exports_progress_check CHECK (progress >= 0 AND progress <= 1),
    formats text[] NOT NULL CONSTRAINT exports_formats_check CHECK (
        cardinality(formats) > 0 AND formats <@ ARRAY['coco', 'yolo', 'geojson', 'csv', 'masks', 'spheroseg']::text[]
    ),
    -- {"scaleUmPerPx": 0.65, "includeImages": false}
    options jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT exports_options_check CHECK (jsonb_typeof(options) = 'object'),
    error text,
    -- The ZIP in the file store (bare hex key). Only a done export holds one, so that the file store may remove
    -- the archive of an expired or failed export.
    object_key text CONSTRAINT exports_object_key_check CHECK (object_key ~ '^[0-9a-f]{64}$'),
    bytes bigint CHECK (bytes >= 0),
    expires_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT exports_done_check CHECK (
        status <> 'done' OR (object_key IS NOT NULL AND bytes IS NOT NULL AND expires_at IS NOT NULL)
    ),
    CONSTRAINT exports_object_key_status_check CHECK (status = 'done' OR object_key IS NULL)
);

-- A project's exports, newest first (keyset pagination on (created_at, id)).
CREATE INDEX exports_project_id_created_at_id_idx ON exports (project_id, created_at, id);
-- Done exports by expiry, for the expiry sweep.
CREATE INDEX exports_expires_at_idx ON exports (expires_at, id) WHERE status = 'done';
-- The file store removes an object only when no row refers to it.
CREATE INDEX exports_object_key_idx ON exports (object_key) WHERE object_key IS NOT NULL;
CREATE INDEX exports_job_id_idx ON exports (job_id) WHERE job_id IS NOT NULL;
