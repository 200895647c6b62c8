#!/usr/bin/env bash
# Builds SegHub's container image from the real, unmodified Dockerfile without a Docker engine, and
# runs it: the proof that the image a lab deploys builds, starts as 1001:1001 and segments.
#
# 1. Base images, made locally with Debian's own tools and cached (containers storage under
#    ~/.cache/seghub/images, SEGHUB_IMAGE_CACHE overrides): `debian:bookworm-slim` (mmdebstrap
#    minbase, documentation and apt lists left out as in the official slim image) and
#    `swift:6.3.1-bookworm` (bookworm with the toolchain's dependencies, this machine's Swift
#    toolchain merged into /usr as in the official image, and git's rewrite of GitHub URLs to the
#    local package mirror). A base image is made again when its recipe changes.
# 2. `buildah bud` of the Dockerfile: the build stage first, with the package mirror mounted
#    read-only (the only stage that resolves packages), then the whole file, which reuses the
#    build stage's layers and runs the runtime stage without the mount.
# 3. The image run with `buildah run --user 1001:1001` (chroot isolation, the host's loopback)
#    against a throwaway PostgreSQL: `ldd` finds every library of both binaries inside the image;
#    `segctl check` (the HEALTHCHECK command) exits 0; segserver starts from the image's CMD,
#    answers /api/health 200, takes an upload, segments it and serves the result; the files it
#    wrote in the data volume belong to 1001:1001. The image size is printed.
# 4. The checker is checked: the runtime stage without libtiff6 must fail step 3's library check.
#
# Usage: scripts/checks/test-image.sh [--keep]   (--keep leaves the built image in the cache's storage)
# Needs root (buildah with chroot isolation and overlay storage); installs mmdebstrap and buildah.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

started=$SECONDS
keep=0
[ "${1:-}" = "--keep" ] && keep=1

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/checks/test-image.sh needs root: buildah builds and runs the image with chroot isolation" >&2
    exit 1
fi

swift_version=6.3.1
swift_home="${SEGHUB_SWIFT_HOME:-/opt/swift}"
mirror="${SEGHUB_PACKAGE_MIRROR:-/opt/swift-packages}"
cache="${SEGHUB_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/seghub/images}"
debian_sources=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)
# What the official swift:*-bookworm image installs for the toolchain.
swift_dependencies=(
    binutils-gold ca-certificates git gpg libc6-dev libcurl4-openssl-dev libedit-dev libgcc-12-dev
    libicu-dev libncurses-dev libpython3-dev libsqlite3-dev libstdc++-12-dev libxml2-dev pkg-config
    tzdata unzip uuid-dev zlib1g-dev
)
# As in the official slim images: no manuals, documentation or translations.
slim_options=(
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin'
    # As the official images do: apt keeps no downloaded packages or caches in later layers.
    --customize-hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >"$1/etc/apt/apt.conf.d/docker-clean"'
)

for need in "$swift_home/usr/bin/swift" "$mirror"; do
    if [ ! -e "$need" ]; then
        echo "test-image: $need is missing (set SEGHUB_SWIFT_HOME / SEGHUB_PACKAGE_MIRROR)" >&2
        exit 1
    fi
done

seg_step "installing missing system packages"
seg_apt_install mmdebstrap buildah curl python3

mkdir -p "$cache"
work="$(mktemp -d /tmp/seghub-image.XXXXXX)"
runroot="$work/run"
bh() { buildah --root "$cache/storage" --runroot "$runroot" --storage-driver overlay "$@"; }
containers=()
server_pid=""
# stop_tree PID: TERM to PID and all its descendants (the background subshell, buildah run, its chroot helper and the
# segserver inside: killing the subshell alone left the other three running), KILL to what is left after 10 s.
stop_tree() {
    local pids=("$1") i=0 child
    while [ "$i" -lt "${#pids[@]}" ]; do
        for child in $(pgrep -P "${pids[$i]}" || true); do pids+=("$child"); done
        i=$((i + 1))
    done
    kill -TERM "${pids[@]}" 2>/dev/null || true
    local alive
    for _ in $(seq 1 20); do
        alive=0
        for child in "${pids[@]}"; do kill -0 "$child" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.5
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    [ -n "$server_pid" ] && stop_tree "$server_pid"
    for c in "${containers[@]}"; do bh rm "$c" >/dev/null 2>&1 || true; done
    # The build stage stays tagged as the next run's layer cache (an unchanged tree builds in seconds);
    # older build stages, the images made here and their layers go.
    if [ "$keep" -eq 0 ]; then
        bh rmi -f localhost/seghub:test localhost/seghub:broken >/dev/null 2>&1 || true
    fi
    bh rmi --prune >/dev/null 2>&1 || true
    if [ -n "${pg_dir:-}" ]; then
        bash scripts/dev/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
        rm -rf "$pg_dir"
    fi
    bh unshare true >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# base_image NAME RECIPE COMMAND...: makes image NAME unless the cached one has label
# seghub.recipe=RECIPE (a hash of what it is made from).
base_image() {
    local name="$1" recipe="$2"
    shift 2
    local have
    have="$(bh inspect --type image --format '{{index .ImageAnnotations "seghub.recipe"}}' "$name" 2>/dev/null || true)"
    if [ "$have" = "$recipe" ]; then
        echo "$name: cached ($recipe)" >&2
        return 0
    fi
    seg_step "making base image $name"
    local t0=$SECONDS
    "$@"
    echo "$name: made in $((SECONDS - t0)) s" >&2
}

make_slim() {
    mmdebstrap --variant=minbase --quiet "${slim_options[@]}" bookworm "$work/slim.tar" "${debian_sources[@]}"
    local c
    c="$(bh from scratch)"
    containers+=("$c")
    bh add "$c" "$work/slim.tar" / >/dev/null
    bh config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --annotation "seghub.recipe=$slim_recipe" "$c"
    bh commit -q --rm "$c" docker.io/library/debian:bookworm-slim >/dev/null
    rm -f "$work/slim.tar"
}

make_swift() {
    local c root
    c="$(bh from scratch)"
    containers+=("$c")
    root="$(bh mount "$c")"
    # The toolchain goes where the official image puts it (/usr), and git reads GitHub through the
    # mirror, which the build mounts read-only at the same path.
    mmdebstrap --variant=minbase --quiet "${slim_options[@]}" --include="$(IFS=,; echo "${swift_dependencies[*]}")" \
        --customize-hook="cp -a '$swift_home/usr/.' \"\$1/usr/\"" \
        --customize-hook="chroot \"\$1\" git config --system url.$mirror/.insteadOf https://github.com/" \
        bookworm "$root" "${debian_sources[@]}"
    bh umount "$c" >/dev/null
    bh config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --annotation "seghub.recipe=$swift_recipe" "$c"
    bh commit -q --rm "$c" "docker.io/library/swift:$swift_version-bookworm" >/dev/null
}

slim_recipe="$(printf '%s\n' v2 "${debian_sources[@]}" "${slim_options[@]}" | sha256sum | cut -c1-16)"
swift_recipe="$(printf '%s\n' v2 "${debian_sources[@]}" "${slim_options[@]}" "${swift_dependencies[@]}" "$mirror" \
    "$("$swift_home/usr/bin/swift" --version 2>&1 | head -n 1)" | sha256sum | cut -c1-16)"
base_image docker.io/library/debian:bookworm-slim "$slim_recipe" make_slim
base_image "docker.io/library/swift:$swift_version-bookworm" "$swift_recipe" make_swift

seg_step "buildah bud: the build stage, with the package mirror mounted read-only"
t0=$SECONDS
bh bud --quiet --format docker --isolation chroot --pull=never --layers --target build \
    --volume "$mirror:$mirror:ro" -t localhost/seghub:build-cache -f Dockerfile . >/dev/null
build_seconds=$((SECONDS - t0))
seg_step "buildah bud: the whole Dockerfile (build stage from the layer cache, runtime stage without the mirror)"
t0=$SECONDS
bh bud --quiet --format docker --isolation chroot --pull=never --layers -t localhost/seghub:test -f Dockerfile . >/dev/null
runtime_seconds=$((SECONDS - t0))

# check_libraries IMAGE: every shared library of both binaries resolves inside IMAGE.
check_libraries() {
    local c out
    c="$(bh from --pull=never "$1")"
    containers+=("$c")
    out="$(bh run --isolation chroot "$c" -- sh -c 'for b in /opt/seghub/bin/segserver /opt/seghub/bin/segctl; do echo "== $b"; ldd "$b"; done' 2>&1)" || true
    if grep -q "not found" <<<"$out" || ! grep -q "libc.so" <<<"$out"; then
        echo "test-image: $1: libraries missing from the image:" >&2
        grep -E "^==|not found" <<<"$out" >&2
        return 1
    fi
    echo "$1: every library of segserver and segctl is in the image" >&2
}

seg_step "the image's libraries (ldd inside the image)"
check_libraries localhost/seghub:test

seg_step "running the image as 1001:1001 against a throwaway PostgreSQL"
# postgres.sh runs the server as user postgres, which must reach its folder: one of its own under /tmp.
pg_dir="$(mktemp -d /tmp/seghub-image-pg.XXXXXX)"
seg_start_database "$pg_dir"
data="$work/data"
mkdir -p "$data"
chown 1001:1001 "$data"
port="$(seg_free_port)"
secret="$(head -c 32 /dev/urandom | base64)"
c="$(bh from --pull=never localhost/seghub:test)"
containers+=("$c")
run_as_service() {
    bh run --isolation chroot --user 1001:1001 --volume "$data:/var/lib/seghub/data" \
        --env SEG_DATABASE_URL="$SEG_DB_URL" --env SEG_JWT_SECRET="$secret" --env SEG_HTTP_PORT="$port" \
        --env SEG_HTTP_HOST=127.0.0.1 --env SEG_WORKERS=1 "$c" -- "$@"
}
bh inspect --type image localhost/seghub:test >"$work/image.json"
# image_config FIELD: the image's USER, CMD (one argument per line) or HEALTHCHECK command.
image_config() {
    python3 - "$work/image.json" "$1" <<'PYEOF'
import json, sys
image = json.load(open(sys.argv[1]))
docker = image.get("Docker", {}).get("config", {})
field = sys.argv[2]
if field == "user":
    print(docker.get("User", ""))
elif field == "cmd":
    print("\n".join(docker.get("Cmd") or []))
else:
    test = (docker.get("Healthcheck") or {}).get("Test") or []
    if test[:1] == ["CMD-SHELL"]:
        print("sh\n-c\n" + test[1])
    else:
        print("\n".join(test[1:] if test[:1] == ["CMD"] else test))
PYEOF
}
user="$(image_config user)"
mapfile -t cmd_argv < <(image_config cmd)
mapfile -t health_argv < <(image_config healthcheck)
echo "image: USER $user, CMD ${cmd_argv[*]}, HEALTHCHECK ${health_argv[*]:-none}" >&2
if [ "$user" != "1001:1001" ] || [ ${#cmd_argv[@]} -eq 0 ] || [ ${#health_argv[@]} -eq 0 ]; then
    echo "test-image: the image must run as 1001:1001 with a CMD and a HEALTHCHECK" >&2
    exit 1
fi

# The database is empty: segserver migrates it at start (SEG_AUTO_MIGRATE's default), so the
# health check before the server ran must fail with its reason, and pass after.
if run_as_service "${health_argv[@]}" >"$work/check-before.txt" 2>&1; then
    echo "test-image: segctl check passed on an unmigrated database" >&2
    cat "$work/check-before.txt" >&2
    exit 1
fi
echo "before the first start, as it should: $(grep -v -e '^Error: exit status' -e '^subprocess exited' "$work/check-before.txt" | tr '\n' ' ')" >&2

run_as_service "${cmd_argv[@]}" >"$work/server.log" 2>&1 &
server_pid=$!
seg_wait_http "http://127.0.0.1:$port/api/health" 200 120 "$server_pid" "$work/server.log"
echo "segserver (the image's CMD) answers /api/health 200" >&2
run_as_service "${health_argv[@]}" >"$work/check.txt" 2>&1 || {
    cat "$work/check.txt" >&2
    echo "test-image: the HEALTHCHECK command (${health_argv[*]}) failed on a running server" >&2
    exit 1
}
echo "HEALTHCHECK (${health_argv[*]}) exits 0" >&2

seg_step "an upload, a segmentation and its result through the image's segserver"
python3 - "http://127.0.0.1:$port" samples/spheroids.jpg <<'PYEOF'
import json, sys, time, urllib.request, uuid

base, image_path = sys.argv[1], sys.argv[2]

def call(method, path, body=None, token=None, content_type="application/json"):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
        return response.status, (json.loads(text) if text and response.headers.get_content_type().endswith("json") else text)

email = f"image-{uuid.uuid4().hex[:8]}@example.org"
status, registered = call("POST", "/api/v1/auth/register", {"email": email, "password": "image test password", "name": "Image Test"})
token = registered["accessToken"]
_, project = call("POST", "/api/v1/projects", {"name": "image test"}, token)
boundary = uuid.uuid4().hex
payload = open(image_path, "rb").read()
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"spheroids.jpg\"\r\n"
        f"Content-Type: image/jpeg\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
status, uploaded = call("POST", f"/api/v1/projects/{project['id']}/images", body, token,
                        f"multipart/form-data; boundary={boundary}")
if status != 201 or len(uploaded["items"]) != 1 or uploaded["errors"]:
    sys.exit(f"test-image: upload answered {status}: {uploaded}")
image_id = uploaded["items"][0]["id"]
print(f"uploaded {image_path} ({len(payload)} bytes): {status}", file=sys.stderr)
status, queued = call("POST", f"/api/v1/projects/{project['id']}/segmentations", {}, token)
if status != 202 or queued.get("queued") != 1:
    sys.exit(f"test-image: queueing answered {status}: {queued}")
deadline = time.time() + 120
while True:
    _, image = call("GET", f"/api/v1/images/{image_id}", None, token)
    if image["status"] == "segmented":
        break
    if image["status"] == "failed" or time.time() > deadline:
        sys.exit(f"test-image: the image is {image['status']} after {120 - max(0, deadline - time.time()):.0f} s")
    time.sleep(0.5)
_, result = call("GET", f"/api/v1/images/{image_id}/segmentation", None, token)
polygons = result["polygons"]
if not polygons:
    sys.exit("test-image: the segmentation has no polygons")
print(f"segmented by the image's worker: {len(polygons)} objects, served by GET /images/{{id}}/segmentation",
      file=sys.stderr)
PYEOF

foreign="$(find "$data" \( ! -uid 1001 -o ! -gid 1001 \) -print | head -n 5)"
written="$(find "$data" -type f | wc -l)"
if [ "$written" -eq 0 ] || [ -n "$foreign" ]; then
    echo "test-image: the data volume holds $written files; not owned by 1001:1001: ${foreign:-none}" >&2
    exit 1
fi
echo "the data volume: $written files, all owned by 1001:1001" >&2
stop_tree "$server_pid"
server_pid=""

seg_step "the checker is checked: a runtime stage without libtiff6 must fail"
sed 's/ libtiff6 / /' Dockerfile >"$work/Dockerfile.broken"
if cmp -s Dockerfile "$work/Dockerfile.broken"; then
    echo "test-image: could not remove libtiff6 from the runtime stage (the Dockerfile changed?)" >&2
    exit 1
fi
bh bud --quiet --format docker --isolation chroot --pull=never --layers -t localhost/seghub:broken -f "$work/Dockerfile.broken" . >/dev/null
if check_libraries localhost/seghub:broken 2>"$work/broken.txt"; then
    echo "test-image: an image without libtiff6 passed the library check" >&2
    exit 1
fi
grep -q "libtiff.so.6 => not found" "$work/broken.txt" || {
    cat "$work/broken.txt" >&2
    echo "test-image: the broken image failed, but not for the missing libtiff" >&2
    exit 1
}
echo "without libtiff6 the check fails as it should:" >&2
sed 's/^/    /' "$work/broken.txt" >&2

size="$(bh images --format '{{.Size}}' localhost/seghub:test | head -n 1)"
echo >&2
echo "image localhost/seghub:test: $size; build stage $build_seconds s, whole Dockerfile $runtime_seconds s; test-image.sh $((SECONDS - started)) s in all" >&2
