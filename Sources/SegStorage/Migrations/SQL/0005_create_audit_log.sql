-- Who did what, kept after the actor or the target is deleted.
SET LOCAL lock_timeout = '5s';

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL,
    target_type text,
    target_id uuid,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_created_at_id_idx ON audit_log (created_at, id);
CREATE INDEX audit_log_actor_id_created_at_idx ON audit_log (actor_id, created_at, id);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, created_at);
