-- The job queue (claimed with SELECT … FOR UPDATE SKIP LOCKED).
SET LOCAL lock_timeout = '5s';

CREATE TABLE jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CONSTRAINT jobs_kind_check CHECK (kind IN ('segment', 'export')),
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    state text NOT NULL DEFAULT 'queued'
        CONSTRAINT jobs_state_check CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority integer NOT NULL DEFAULT 0,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    image_id uuid REFERENCES images (id) ON DELETE CASCADE,
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    run_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- At most one pending segmentation job per image.
CREATE UNIQUE INDEX jobs_pending_segment_image_key ON jobs (image_id)
    WHERE kind = 'segment' AND state IN ('queued', 'running');
-- Claiming: queued jobs that are due, by priority then age.
CREATE INDEX jobs_claim_idx ON jobs (priority DESC, run_at, created_at) WHERE state = 'queued';
-- Expired leases return to the queue.
CREATE INDEX jobs_lease_until_idx ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_user_id_created_at_id_idx ON jobs (user_id, created_at, id);
CREATE INDEX jobs_state_created_at_id_idx ON jobs (state, created_at, id);
