-- The segmenter a project's segmentation requests use when they name none (`builtin` or a model of the server's
-- registry; NULL: the built-in one). Additive only: old releases neither read nor write it.
SET LOCAL lock_timeout = '5s';

ALTER TABLE projects ADD COLUMN default_segmenter text
    CONSTRAINT projects_default_segmenter_check CHECK (default_segmenter ~ '^[A-Za-z0-9._-]{1,64}$');
