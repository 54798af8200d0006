#!/usr/bin/env bash
# Build the real platform's (kpiteira/ktrdr) images on an engine with no registry, where
# containers reach neither PyPI nor HTTPS but the host reaches PyPI, and the engine is the
# classic builder (no BuildKit). Follows the shared notes in $KTRDR_BUILD_MATERIAL/README.md:
#
#   1. python:3.13-slim stand-in (project base image + the host's pyenv CPython 3.13), flattened
#   2. offline uv caches filled on the host from ktrdr's own uv.lock, plus uv's wheel
#   3. ktrdr-offline-builds.diff applied to ktrdr's Dockerfiles (offline, classic syntax)
#   4. ktrdr-backend:test, ktrdr-worker-cpu:test, ktrdr-worker-gpu:test, one at a time
#   5. the project's database image tagged as the canary's timescale/timescaledb-ha:pg15
#   then the host folders the canary compose file bind-mounts, and removal of our dangling images.
#
# Usage: deploy/real-platform/build-ktrdr.sh [KTRDR_TREE]   (default: ../ktrdr beside the project)
# Env:   KTRDR_BUILD_MATERIAL (default ../shared/real-platform beside the project), FORCE=1 (rebuild/refill
#        everything), BASE_IMAGE, DB_SOURCE_IMAGE, PYTHON_VERSION, POLL_INTERVAL, BASE_WAIT_TIMEOUT,
#        BUILD_CPU_SHARES (the build containers' CPU weight, default the engine's 1024; e.g. 64 to
#        build in the background beside a run without slowing it: the build takes the idle CPU).
# Idempotent: an image whose tag exists, a cache already filled from the same uv.lock with the
# same uv, an already applied diff are all skipped.
set -euo pipefail

project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ktrdr="${1:-$project_root/../ktrdr}"
[ -d "$ktrdr" ] || { echo "no ktrdr tree at $ktrdr" >&2; exit 2; }
ktrdr="$(cd "$ktrdr" && pwd)"
material="${KTRDR_BUILD_MATERIAL:-$project_root/../shared/real-platform}"
[ -f "$material/ktrdr-offline-builds.diff" ] && [ -d "$material/python313-slim" ] || {
    echo "no build material (ktrdr-offline-builds.diff, python313-slim/) in $material" >&2
    exit 2
}
force="${FORCE:-0}"
base_image="${BASE_IMAGE:-canaryspec/debian:bookworm}"   # what `make base` builds
# The database image the project builds (`make images`): prefix "" + "tradelab-db" + ":test",
# as canaryspec/settings.py composes it for the tradelab profile.
db_source="${DB_SOURCE_IMAGE:-tradelab-db:test}"
db_target="timescale/timescaledb-ha:pg15"                # what ktrdr's canary compose names
python_version="${PYTHON_VERSION:-3.13.0}"
slim_tag="python:3.13-slim"                              # ktrdr's Dockerfiles all start FROM it
poll="${POLL_INTERVAL:-10}"
cpu_shares=(); [ -n "${BUILD_CPU_SHARES:-}" ] && cpu_shares=(--cpu-shares "$BUILD_CPU_SHARES")
compose="$ktrdr/deploy/environments/canary/docker-compose.yml"

# role -> tag; backend and worker-cpu are what ktrdr's canary compose runs, worker-gpu is the
# name canaryspec's ktrdr profile gives the GPU image.
roles=(backend worker-cpu worker-gpu)
declare -A tag=([backend]=ktrdr-backend:test [worker-cpu]=ktrdr-worker-cpu:test
                [worker-gpu]=ktrdr-worker-gpu:test)
# The other role's uv cache stays out of each build context (it is GBs for the ML one).
declare -A exclude_cache=([backend]=uv-cache-ml [worker-cpu]=uv-cache-backend
                          [worker-gpu]=uv-cache-backend)

# The engine has no buildx: make sure a newer CLI does not try BuildKit.
export DOCKER_BUILDKIT=0
# `git apply` run inside a repository applies paths relative to that repository's top and
# silently skips the rest: keep git from finding a repository above the ktrdr tree.
export GIT_CEILING_DIRECTORIES="$(dirname "$ktrdr")"

t0=$SECONDS
log() { printf '[%s +%ds] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - t0))" "$*"; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }
wanted() { [ "$force" = 1 ] || ! has_image "$1"; }
disk() { df -h --output=used,avail /var/lib/docker 2>/dev/null | tail -1 | awk '{print "disk used " $1 ", free " $2}'; }

work="$(mktemp -d "${TMPDIR:-/tmp}/ktrdr-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Images replaced or left untagged by this run descend from our stand-in (which, imported, has
# no parent): collecting the stand-in IDs lets us remove only dangling images we made, never
# another process's (a concurrent multi-stage build's untagged stage, say).
own_roots=()
has_image "$slim_tag" && own_roots+=("$(docker image inspect -f '{{.Id}}' "$slim_tag")")

# Check the tag names against the compose file, so a renamed image upstream is noticed here.
if [ -f "$compose" ]; then
    for want in "${tag[backend]}" "${tag[worker-cpu]}" "$db_target"; do
        grep -q "image: *$want\$" "$compose" || log "WARNING: $compose does not name $want"
    done
fi

# ---------------------------------------------------------------------------------------------
# 1. python:3.13-slim stand-in
# ---------------------------------------------------------------------------------------------
build_standin() {
    # The base image may still be in the making (`make base` run by someone else): wait for it.
    local waited=0
    until has_image "$base_image"; do
        if [ "$waited" -ge "${BASE_WAIT_TIMEOUT:-7200}" ]; then
            echo "base image $base_image missing after ${waited}s: run \`make base\` in $project_root" >&2
            exit 1
        fi
        [ "$waited" = 0 ] && log "waiting for $base_image (polling every ${poll}s)"
        sleep "$poll"; waited=$((waited + poll))
    done

    local prefix ctx tmp_tag cid old_id new_id
    prefix="$(pyenv prefix "$python_version")"
    ctx="$work/python313-slim"
    mkdir -p "$ctx/usrlocal"
    cp "$material"/python313-slim/* "$ctx/"   # the material is read-only; usrlocal goes beside it
    # site-packages left out: it holds the host's pip and sandbox .pth files; the Dockerfile
    # reinstalls pip from CPython's own bundled wheel (ensurepip).
    tar -C "$prefix" -c --exclude="./lib/python3.13/site-packages" . | tar -C "$ctx/usrlocal" -x
    tmp_tag="canaryspec-ktrdr-build/python313-slim:unflattened"
    log "building $slim_tag stand-in from $base_image + $prefix"
    docker build --force-rm "${cpu_shares[@]}" -t "$tmp_tag" "$ctx"
    # Flatten to one layer (like the official base layer, and so the __pycache__ the COPY
    # brought in and the RUN removed costs nothing). Import drops the config: carry ENV and CMD.
    local -a changes=()
    while IFS= read -r env; do
        [ -n "$env" ] && changes+=(--change "ENV $env")
    done < <(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$tmp_tag")
    changes+=(--change "CMD $(docker image inspect -f '{{json .Config.Cmd}}' "$tmp_tag")")
    old_id="$(docker image inspect -f '{{.Id}}' "$slim_tag" 2>/dev/null || true)"
    cid="$(docker create "$tmp_tag")"
    docker export "$cid" | docker import "${changes[@]}" - "$slim_tag" >/dev/null
    docker rm "$cid" >/dev/null
    docker rmi "$tmp_tag" >/dev/null
    rm -rf "$ctx"
    new_id="$(docker image inspect -f '{{.Id}}' "$slim_tag")"
    own_roots+=("$new_id")
    [ -n "$old_id" ] && [ "$old_id" != "$new_id" ] && { docker rmi "$old_id" >/dev/null 2>&1 || true; }
    docker run --rm "$slim_tag" python3 -c 'import ssl, sqlite3, sys; print(sys.version)'
}

# ---------------------------------------------------------------------------------------------
# 2. offline uv caches (host side)
# ---------------------------------------------------------------------------------------------
offline="$ktrdr/offline"
# A cache is reusable while uv.lock, pyproject.toml and uv's version are unchanged.
fingerprint() { { sha256sum "$ktrdr/uv.lock" "$ktrdr/pyproject.toml" | awk '{print $1}'; echo "uv $1"; } | tr '\n' ' '; }

repo_copy() {   # a throwaway copy of the tree for a host-side `uv sync` (creates its own .venv)
    local dest="$work/$1"
    mkdir -p "$dest"
    tar -C "$ktrdr" -c --exclude=./.git --exclude=./offline --exclude=./data --exclude=./models \
        --exclude=./.venv . | tar -C "$dest" -x
    echo "$dest"
}

# The exact text Dockerfile.worker-cpu appends to pyproject.toml (CPU torch index).
cpu_index_text=$'\n[tool.uv.sources]\ntorch = { index = "pytorch-cpu" }\n\n[[tool.uv.index]]\nname = "pytorch-cpu"\nurl = "https://download.pytorch.org/whl/cpu"\n'

fill_caches() {
    local prefix py uv uv_version copy
    prefix="$(pyenv prefix "$python_version")"
    py="$prefix/bin/python3"
    # uv in a throwaway venv: nothing installed into the host's Pythons.
    log "installing uv into a throwaway venv"
    "$py" -m venv "$work/uv-venv"
    "$work/uv-venv/bin/pip" install -q --disable-pip-version-check uv
    uv="$work/uv-venv/bin/uv"
    uv_version="$("$uv" --version | awk '{print $2}')"
    export UV_PYTHON="$py" UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
    mkdir -p "$offline/wheels"

    # The images must install the same uv that filled the caches (cache layouts are versioned).
    if ! ls "$offline/wheels"/uv-"$uv_version"-*.whl >/dev/null 2>&1; then
        rm -f "$offline/wheels"/uv-*.whl
        "$work/uv-venv/bin/pip" download -q --disable-pip-version-check --no-deps \
            --only-binary=:all: -d "$offline/wheels" "uv==$uv_version"
    fi
    log "uv wheel: $(ls "$offline/wheels"/uv-*.whl)"

    local fp; fp="$(fingerprint "$uv_version")"
    local name extra
    for name in uv-cache-backend uv-cache-ml; do
        if [ "$force" != 1 ] && [ "$(cat "$offline/$name/.canary-fingerprint" 2>/dev/null)" = "$fp" ]; then
            log "$name already filled from this uv.lock with uv $uv_version"
            continue
        fi
        extra=(); [ "$name" = uv-cache-ml ] && extra=(--extra ml)
        rm -rf "${offline:?}/$name"
        copy="$(repo_copy "sync-$name")"
        # A full sync (project included), not --no-install-project: the image's second sync
        # builds ktrdr itself, so the cache must hold the build back-end (hatchling) too.
        log "filling $name: uv sync --frozen --no-dev ${extra[*]}"
        (cd "$copy" && UV_CACHE_DIR="$offline/$name" "$uv" sync --frozen --no-dev "${extra[@]}")
        rm -rf "$copy"
        if [ "$name" = uv-cache-ml ]; then
            # The host cannot reach the CPU index, so the CPU worker's variant cannot be synced
            # online; check instead that it syncs offline from this cache (the lock pins PyPI's
            # torch; the appended index is still consulted for the build back-end).
            copy="$(repo_copy sync-ml-cpu-index)"
            printf '%s' "$cpu_index_text" >>"$copy/pyproject.toml"
            log "checking an offline sync with the CPU index appended"
            (cd "$copy" && UV_CACHE_DIR="$offline/$name" UV_OFFLINE=1 "$uv" sync --frozen --no-dev --extra ml)
            rm -rf "$copy"
        fi
        # Host-side leftovers the images do not need (interpreter probes of the host Python).
        rm -rf "$offline/$name"/interpreter-v*
        echo "$fp" >"$offline/$name/.canary-fingerprint"
        log "$name: $(du -sh "$offline/$name" | cut -f1)"
    done
}

# ---------------------------------------------------------------------------------------------
# 3. the offline-build diff
# ---------------------------------------------------------------------------------------------
apply_diff() {
    local diff="$material/ktrdr-offline-builds.diff"
    # The exported tree is not a git repository; `git apply` works on plain directories too.
    if (cd "$ktrdr" && git apply --reverse --check "$diff" 2>/dev/null); then
        log "offline-build diff already applied"
    else
        (cd "$ktrdr" && git apply "$diff")
        log "offline-build diff applied"
    fi
}

# ---------------------------------------------------------------------------------------------
# 4. the three images, one at a time (two torch builds at once need ~40 GB)
# ---------------------------------------------------------------------------------------------
build_role() {
    local role="$1" start=$SECONDS
    log "building ${tag[$role]} ($(disk))"
    # A tar stream, not a directory: leaves out .git, the bind-mounted data and models, and the
    # other role's cache (the classic builder would send all of it to the daemon otherwise).
    # Twice at most: on this engine's fuse-overlayfs storage a COPY --from of torch's ~10,000
    # files once failed under load with "failed to copy files: lchown ... no such file or
    # directory"; the same build then succeeded (the layers before it come from the cache).
    local attempt
    for attempt in 1 2; do
        if tar -C "$ktrdr" -c --exclude=./.git --exclude=./data --exclude=./models \
               --exclude="./offline/${exclude_cache[$role]}" . |
           docker build --force-rm "${cpu_shares[@]}" -f "deploy/docker/Dockerfile.$role" \
               -t "${tag[$role]}" -; then
            break
        fi
        [ "$attempt" = 2 ] && { log "building ${tag[$role]} failed twice"; return 1; }
        log "building ${tag[$role]} failed; once more ($(disk))"
    done
    log "built ${tag[$role]} in $((SECONDS - start))s: $(docker images --format '{{.Size}}' "${tag[$role]}") ($(disk))"
}

# ---------------------------------------------------------------------------------------------
# 5. the database under the canary's name
# ---------------------------------------------------------------------------------------------
tag_db() {
    if ! wanted "$db_target"; then
        log "$db_target already present"
    elif has_image "$db_source"; then
        # ktrdr's migrations use no TimescaleDB feature: the project's PostgreSQL 15 image serves.
        docker tag "$db_source" "$db_target"
        log "tagged $db_source as $db_target"
    else
        log "NOTE: $db_source does not exist yet: run \`make images\` in $project_root, then" \
            "rerun this script (or: docker tag $db_source $db_target)"
    fi
}

remove_own_dangling() {
    [ "${#own_roots[@]}" -gt 0 ] || return 0
    local img cur root mine
    for img in $(docker images -q --no-trunc -f dangling=true); do
        mine=0; cur="$img"
        while [ -n "$cur" ] && [ "$mine" = 0 ]; do
            for root in "${own_roots[@]}"; do [ "$cur" = "$root" ] && mine=1; done
            cur="$(docker image inspect -f '{{.Parent}}' "$cur" 2>/dev/null || true)"
        done
        if [ "$mine" = 1 ]; then
            docker rmi "$img" >/dev/null 2>&1 && log "removed dangling $img" || true
        fi
    done
}

# ---------------------------------------------------------------------------------------------
log "ktrdr tree $ktrdr, material $material ($(disk))"

if wanted "$slim_tag"; then
    s=$SECONDS; build_standin; log "$slim_tag built in $((SECONDS - s))s"
else
    log "$slim_tag already present"
fi

todo=()
for role in "${roles[@]}"; do wanted "${tag[$role]}" && todo+=("$role"); done
# Caches are checked (and refilled if uv.lock changed) whenever an image is to be built.
if [ "${#todo[@]}" -gt 0 ]; then
    s=$SECONDS; fill_caches; log "offline caches ready in $((SECONDS - s))s"
    apply_diff
fi

for role in "${todo[@]}"; do
    build_role "$role"
    remove_own_dangling   # the builder stage of each multi-stage build is left untagged
done
for role in "${roles[@]}"; do
    [[ " ${todo[*]} " == *" $role "* ]] || log "${tag[$role]} already present"
done

tag_db

# The folders ktrdr's canary bind-mounts (../../../{data,models,strategies} from the compose
# file). The training worker writes models/ as the images' non-root `ktrdr` user (a system
# uid, not the host's): world-writable. data/ stays empty: the suite seeds its own series.
mkdir -p "$ktrdr/data" "$ktrdr/models" "$ktrdr/strategies"
chmod 0777 "$ktrdr/models"

remove_own_dangling
log "done in $((SECONDS - t0))s ($(disk))"
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' |
    grep -E "^(ktrdr-|python:3.13-slim|timescale/)" || true
