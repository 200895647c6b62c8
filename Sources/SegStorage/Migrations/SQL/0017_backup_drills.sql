-- Restore drills run by `segctl backup drill`: the newest backup restored into a scratch database and folder and
-- checked against its manifest. `/metrics` exports when the last successful one finished. Additive only.
SET LOCAL lock_timeout = '5s';

CREATE TABLE backup_drills (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The backup folder drilled (`seghub-YYYYMMDDTHHMMSSZ`) and the directory it was read from.
    backup_name text NOT NULL CHECK (backup_name ~ '^seghub-[0-9]{8}T[0-9]{6}Z$'),
    location text NOT NULL CHECK (location <> ''),
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    -- Whether every check held; `problems` lists the ones that did not.
    succeeded boolean NOT NULL,
    problems text[] NOT NULL DEFAULT '{}',
    -- What was compared: tables, rows and objects (bytes) of the manifest.
    tables integer NOT NULL CHECK (tables >= 0),
    rows_checked bigint NOT NULL CHECK (rows_checked >= 0),
    objects integer NOT NULL CHECK (objects >= 0),
    object_bytes bigint NOT NULL CHECK (object_bytes >= 0),
    CONSTRAINT backup_drills_time_check CHECK (finished_at >= started_at)
);

-- The last successful drill (`seghub_last_backup_drill_timestamp_seconds`).
CREATE INDEX backup_drills_succeeded_idx ON backup_drills (finished_at DESC) WHERE succeeded;
