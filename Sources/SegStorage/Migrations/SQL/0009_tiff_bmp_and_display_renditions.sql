-- TIFF and BMP uploads, and the PNG rendition browsers are shown for images they cannot display
-- (TIFF) or would display wrongly (more than 8 bits per sample). Additive only (expand/contract):
-- the format check only widens, and the new column is nullable.
SET LOCAL lock_timeout = '5s';

ALTER TABLE images DROP CONSTRAINT images_format_check;
ALTER TABLE images ADD CONSTRAINT images_format_check CHECK (format IN ('png', 'jpeg', 'tiff', 'bmp'));

-- The 8-bit PNG rendition of the first plane (0.1st–99.9th percentile stretched), when the
-- original is not an 8-bit JPEG or PNG; like thumbnail_key, it keeps its object from `segctl gc`.
ALTER TABLE images ADD COLUMN display_key text
    CONSTRAINT images_display_key_check CHECK (display_key ~ '^[0-9a-f]{64}$');
CREATE INDEX images_display_key_idx ON images (display_key) WHERE display_key IS NOT NULL;

-- Pages of a multi-page TIFF (1 for every other image); old releases insert without it.
ALTER TABLE images ADD COLUMN pages integer NOT NULL DEFAULT 1 CONSTRAINT images_pages_check CHECK (pages > 0);
