#!/usr/bin/env bash
# Times `segctl backup create`, `verify` and `restore` on a generated data set and prints the sizes.
# Usage: scripts/bench/bench-backup.sh [IMAGES] [IMAGE_KIB] [PORT]
#   IMAGES     images to generate (default 1000), each with its own original of IMAGE_KIB KiB of random bytes
#              (default 256; compressed image data does not compress further), an 8 KiB thumbnail and one
#              segmentation version of 20 polygons of 40 vertices.
#   PORT       the throwaway cluster's port (default: the first free one from 54329 up).
# segctl is $SEGCTL if set, else .build/release/segctl, else .build/debug/segctl (say which in the figures).
# Everything lives in a temporary folder that is removed at the end, cluster included.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source scripts/lib/common.sh

images="${1:-1000}"
kib="${2:-256}"
port="${3:-}"
segctl="${SEGCTL:-}"
if [ -z "$segctl" ]; then
    if [ -x .build/release/segctl ]; then segctl=.build/release/segctl; else segctl=.build/debug/segctl; fi
fi
[ -x "$segctl" ] || { echo "bench-backup.sh: $segctl not built (swift build -c release --product segctl)" >&2; exit 1; }

work="$(mktemp -d /tmp/seghub-bench-backup.XXXXXX)"
chmod 755 "$work"
cleanup() {
    scripts/dev/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

seg_step "starting a throwaway PostgreSQL cluster"
mkdir -p "$work/pg"
url="$(scripts/dev/postgres.sh start "$work/pg" $port | tail -n 1)"
base="${url%/postgres}"
psql_bin="$(command -v psql)"
"$psql_bin" -X -q "$url" -c "CREATE DATABASE bench" -c "CREATE DATABASE bench_restored"
src="$base/bench?sslmode=disable"
dst="$base/bench_restored?sslmode=disable"
"$segctl" migrate --database-url "$src" >/dev/null

seg_step "generating $images images of $kib KiB"
python3 - "$work/data" "$images" "$kib" "$work/images.csv" <<'PY'
import hashlib, os, sys
root, count, kib, csv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def put(data):
    key = hashlib.sha256(data).hexdigest()
    folder = os.path.join(root, "objects", key[:2])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, key[2:]), "wb") as f:
        f.write(data)
    return key
os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
with open(csv, "w") as out:
    for i in range(count):
        original = put(os.urandom(kib * 1024))
        thumbnail = put(os.urandom(8 * 1024))
        out.write(f"image-{i:05d}.png,{original},{thumbnail},{kib * 1024}\n")
PY
"$psql_bin" -X -q "$src" -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (email, name, password_hash) VALUES ('bench@example.org', 'Bench', '\$2b\$12\$bench');
INSERT INTO projects (owner_id, name) SELECT id, 'Project ' || p FROM users, generate_series(1, 10) p;
INSERT INTO project_members (project_id, user_id, role) SELECT id, owner_id, 'owner' FROM projects;
CREATE TEMP TABLE staged (n serial, name text, object_key text, thumbnail_key text, bytes bigint);
\copy staged (name, object_key, thumbnail_key, bytes) FROM '$work/images.csv' WITH (FORMAT csv)
INSERT INTO images (project_id, name, object_key, thumbnail_key, width, height, format, bytes, status)
SELECT (SELECT array_agg(id ORDER BY name) FROM projects)[1 + n % 10], name, object_key, thumbnail_key,
    1024, 1024, 'png', bytes, 'segmented' FROM staged;
INSERT INTO segmentations (image_id, version, polygons, segmenter)
SELECT i.id, 1, (SELECT jsonb_agg(jsonb_build_object('id', 'polygon_' || p, 'class', 'spheroid',
        'exterior', (SELECT jsonb_agg(jsonb_build_array(round(100 * p + 30 * cos(a * pi() / 20)), round(200 + 30 * sin(a * pi() / 20))))
                     FROM generate_series(0, 39) a),
        'holes', '[]'::jsonb, 'area', 2820.0)) FROM generate_series(1, 20) p), 'builtin'
FROM images i;
SQL

mkdir -p "$work/backups"
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

seg_step "backup create"
start=$(now)
"$segctl" backup create --database-url "$src" --data-dir "$work/data" --dest "$work/backups" --json >"$work/create.json"
create_s=$(since "$start")
name="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$work/create.json")"
seg_step "backup verify $name"
start=$(now)
"$segctl" backup verify "$name" --database-url "$src" --dest "$work/backups" >/dev/null
verify_s=$(since "$start")
seg_step "backup restore $name into an empty database and data directory"
start=$(now)
"$segctl" backup restore "$name" --database-url "$dst" --data-dir "$work/restored" --dest "$work/backups" >/dev/null
restore_s=$(since "$start")

dump_bytes=$(stat -c %s "$work/backups/$name/database.dump")
total_bytes=$(du -sb "$work/backups/$name" | cut -f1)
db_bytes=$("$psql_bin" -X -At "$src" -c "SELECT pg_database_size('bench')")
data_bytes=$(du -sb "$work/data/objects" | cut -f1)
same=$("$psql_bin" -X -At "$dst" -c "SELECT count(*) FROM images")
cat <<OUT
images:            $images (+ $images thumbnails), $kib KiB each; segmentations: $images x 20 polygons
segctl:            $segctl
database size:     $db_bytes bytes (pg_database_size)
file objects:      $data_bytes bytes
backup folder:     $total_bytes bytes (dump $dump_bytes bytes)
backup create:     ${create_s} s
backup verify:     ${verify_s} s
backup restore:    ${restore_s} s
restored images:   $same
OUT
