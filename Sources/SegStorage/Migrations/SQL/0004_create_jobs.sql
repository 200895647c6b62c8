-- The job queue: claimed with SELECT … FOR UPDATE SKIP LOCKED, leased, retried with backoff.
SET LOCAL lock_timeout = '5s';

CREATE TABLE jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CONSTRAINT jobs_kind_check CHECK (kind IN ('segment', 'export')),
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    state text NOT NULL DEFAULT 'queued'
        CONSTRAINT jobs_state_check CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- Higher runs first.
    priority integer NOT NULL DEFAULT 0 CONSTRAINT jobs_priority_check CHECK (priority BETWEEN -100 AND 100),
    -- Who asked for it (fairness is between these); NULL for system jobs or deleted users.
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    project_id uuid REFERENCES projects (id) ON DELETE CASCADE,
    image_id uuid REFERENCES images (id) ON DELETE CASCADE,
    -- Fair-queueing position: a user's jobs get consecutive ranks starting at the queue's head, so users
    -- take turns instead of the one with most jobs filling the queue. See JobQueue.enqueue.
    fair_rank bigint NOT NULL DEFAULT 0,
    attempt integer NOT NULL DEFAULT 0 CONSTRAINT jobs_attempt_check CHECK (attempt >= 0),
    max_attempts integer NOT NULL DEFAULT 3 CONSTRAINT jobs_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
    -- Not claimed before this instant (retry backoff).
    run_at timestamptz NOT NULL DEFAULT now(),
    -- Set while running: the holder's lease id (completion checks it) and when the lease runs out.
    lease_id uuid,
    lease_until timestamptz,
    worker text,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT jobs_lease_check CHECK ((state = 'running') = (lease_id IS NOT NULL AND lease_until IS NOT NULL))
);

-- At most one pending (queued) segmentation job per image; a running one may coexist with a newer request.
CREATE UNIQUE INDEX jobs_pending_segment_image_key ON jobs (image_id) WHERE kind = 'segment' AND state = 'queued';
-- Claiming: priority, then fairness, then age.
CREATE INDEX jobs_claim_idx ON jobs (priority DESC, fair_rank, created_at) WHERE state = 'queued';
-- The queue's head rank and each user's last rank, for fair ranks at enqueue.
CREATE INDEX jobs_queued_fair_rank_idx ON jobs (fair_rank) WHERE state = 'queued';
CREATE INDEX jobs_queued_user_fair_rank_idx ON jobs (user_id, fair_rank) WHERE state = 'queued';
-- Expired leases return to the queue.
CREATE INDEX jobs_lease_until_idx ON jobs (lease_until) WHERE state = 'running';
-- Listing and statistics.
CREATE INDEX jobs_state_created_at_id_idx ON jobs (state, created_at, id);
CREATE INDEX jobs_project_id_state_idx ON jobs (project_id, state);
CREATE INDEX jobs_user_id_idx ON jobs (user_id);
CREATE INDEX jobs_image_id_idx ON jobs (image_id);
