-- Backups written by `segctl backup create`: one row per complete backup folder.
SET LOCAL lock_timeout = '5s';

CREATE TABLE backups (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The folder's name, `seghub-YYYYMMDDTHHMMSSZ` (UTC time of the database snapshot).
    name text NOT NULL CONSTRAINT backups_name_check CHECK (name ~ '^seghub-[0-9]{8}T[0-9]{6}Z$'),
    -- The directory the folder was written into (`--dest` or SEG_BACKUP_DIR), as given.
    location text NOT NULL CHECK (location <> ''),
    -- Bytes of the dump, the objects and the manifest together.
    bytes bigint NOT NULL CHECK (bytes >= 0),
    object_count integer NOT NULL CHECK (object_count >= 0),
    schema_version integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    -- The last `segctl backup verify`: NULL before the first, then its verdict and time.
    verified boolean,
    verified_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT backups_location_name_key UNIQUE (location, name),
    CONSTRAINT backups_verified_check CHECK ((verified IS NULL) = (verified_at IS NULL))
);

-- The newest finished backup (`seghub_last_backup_timestamp_seconds`, prune).
CREATE INDEX backups_finished_at_idx ON backups (finished_at DESC);
CREATE INDEX backups_name_idx ON backups (name);
