-- Images and their versioned segmentations.
SET LOCAL lock_timeout = '5s';

CREATE TABLE images (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name <> ''),
    -- Content address in the file store (`objects/ab/cdef…`).
    object_key text NOT NULL,
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    format text NOT NULL CONSTRAINT images_format_check CHECK (format IN ('png', 'jpeg', 'tiff', 'bmp')),
    bytes bigint NOT NULL CHECK (bytes >= 0),
    status text NOT NULL DEFAULT 'new'
        CONSTRAINT images_status_check CHECK (status IN ('new', 'queued', 'processing', 'segmented', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX images_project_id_created_at_id_idx ON images (project_id, created_at, id);
CREATE INDEX images_project_id_status_idx ON images (project_id, status);
-- The file store removes an object only when no row refers to it.
CREATE INDEX images_object_key_idx ON images (object_key);

CREATE TABLE segmentations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    image_id uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    version integer NOT NULL CHECK (version > 0),
    polygons jsonb NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
    segmenter text NOT NULL,
    author_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT segmentations_image_id_version_key UNIQUE (image_id, version)
);

CREATE INDEX segmentations_author_id_idx ON segmentations (author_id);
