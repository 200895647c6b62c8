-- Images and their versioned segmentations.
SET LOCAL lock_timeout = '5s';

CREATE TABLE images (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name <> ''),
    -- File-store keys are the bare SHA-256 hex digits (`ObjectKey.hex`), never a path.
    object_key text NOT NULL CONSTRAINT images_object_key_check CHECK (object_key ~ '^[0-9a-f]{64}$'),
    -- The re-encoded JPEG thumbnail (longest side 256); null until one is made.
    thumbnail_key text CONSTRAINT images_thumbnail_key_check CHECK (thumbnail_key ~ '^[0-9a-f]{64}$'),
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    -- The formats SegCore decodes (recognised by their first bytes).
    format text NOT NULL CONSTRAINT images_format_check CHECK (format IN ('png', 'jpeg')),
    bytes bigint NOT NULL CHECK (bytes >= 0),
    status text NOT NULL DEFAULT 'new'
        CONSTRAINT images_status_check CHECK (status IN ('new', 'queued', 'processing', 'segmented', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A project's images, oldest first (keyset pagination on (created_at, id)).
CREATE INDEX images_project_id_created_at_id_idx ON images (project_id, created_at, id);
-- The same filtered by status; also counts by status and "not yet segmented".
CREATE INDEX images_project_id_status_created_at_id_idx ON images (project_id, status, created_at, id);
-- The file store removes an object only when no row refers to it.
CREATE INDEX images_object_key_idx ON images (object_key);
CREATE INDEX images_thumbnail_key_idx ON images (thumbnail_key) WHERE thumbnail_key IS NOT NULL;

-- A new version never overwrites an old one: versions of an image are 1, 2, 3, ...
CREATE TABLE segmentations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    image_id uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    version integer NOT NULL CHECK (version > 0),
    -- The polygon list of DESIGN.md section 2.
    polygons jsonb NOT NULL CONSTRAINT segmentations_polygons_check CHECK (jsonb_typeof(polygons) = 'array'),
    -- Kept so that version lists need not read the polygons.
    polygon_count integer GENERATED ALWAYS AS (
        CASE WHEN jsonb_typeof(polygons) = 'array' THEN jsonb_array_length(polygons) ELSE 0 END
    ) STORED,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb
        CONSTRAINT segmentations_parameters_check CHECK (jsonb_typeof(parameters) = 'object'),
    segmenter text NOT NULL CHECK (segmenter <> ''),
    author_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Also the index behind "latest", "version n" and the next version number.
    CONSTRAINT segmentations_image_id_version_key UNIQUE (image_id, version)
);

CREATE INDEX segmentations_author_id_idx ON segmentations (author_id);
