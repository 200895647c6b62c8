-- Claims follow the fair rank alone (priority orders a user's own jobs through their ranks: JobQueue.fairRanks).
-- Additive only: jobs_claim_idx, on (priority DESC, fair_rank, created_at), stays while an older release may still
-- claim with that order during a blue-green deploy; a later release drops it.
SET LOCAL lock_timeout = '5s';

CREATE INDEX jobs_fair_claim_idx ON jobs (fair_rank, created_at) WHERE state = 'queued';
