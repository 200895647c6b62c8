-- Who did what, kept after the actor or the target is deleted.
SET LOCAL lock_timeout = '5s';

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL CHECK (action <> ''),
    target_type text,
    target_id uuid,
    details jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT audit_log_details_check CHECK (jsonb_typeof(details) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Lists are newest first, keyset-paginated on (created_at, id), optionally filtered by one of these.
CREATE INDEX audit_log_created_at_id_idx ON audit_log (created_at, id);
CREATE INDEX audit_log_actor_id_created_at_id_idx ON audit_log (actor_id, created_at, id);
CREATE INDEX audit_log_target_id_created_at_id_idx ON audit_log (target_id, created_at, id);
CREATE INDEX audit_log_action_created_at_id_idx ON audit_log (action, created_at, id);
