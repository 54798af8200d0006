#!/usr/bin/env bash
# make attach-demo: judge a deployment the suite did not start, from the host and from the
# runner image, and prove the deployment is left as it was. Exits non-zero if any part fails.
#   1. the canary compose file started by plain Compose under a project of its own, two
#      workers of each type (its scale-2 profile), migrated
#   2. the suite attached from the host by URL (target=attach), expecting two of each
#   3. the same, expecting three training workers: must fail, naming the count
#   4. the runner image attached from inside the deployment's own network
#   5. the same containers (same ids) before and after, no operation left active
# The deployment is removed on exit, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
COMPOSE=("$($PY -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')")
PROJECT=canaryspec-attach-demo-$$
FILE=deploy/environments/canary/docker-compose.yml
REPORTS=$(realpath -m "${REPORTS:-reports/attach-demo}")
RUNNER_IMAGE=${RUNNER_IMAGE:-canaryspec-runner:test}
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$FILE" --profile scale-2 "$@"; }
EXPECTED=training:2,backtesting:2
say() { printf 'attach-demo: %s\n' "$*"; }
failed=0

# Free host ports chosen by the engine, read back from Compose: two demos never collide.
export BACKEND_PORT=0 TRAINING_WORKER_PORT=0 BACKTEST_WORKER_PORT=0 DB_PORT=0 \
       TRAINING_WORKER_2_PORT=0 BACKTEST_WORKER_2_PORT=0
trap 'say "removing $PROJECT"; compose down -v --remove-orphans >/dev/null 2>&1 || true' EXIT

say "starting $PROJECT with plain Compose (the suite is not involved)"
compose up -d --wait --quiet-pull >/dev/null
compose exec -T backend alembic upgrade head
port() { compose port "$1" "$2" | sed 's/.*://'; }
backend="http://127.0.0.1:$(port backend 8000)"
# Two of each type: the suite reaches the one it needs by asking each which worker it is.
workers="training=http://127.0.0.1:$(port training-worker 5004)|http://127.0.0.1:$(port training-worker-2 5004)"
workers+=",backtesting=http://127.0.0.1:$(port backtest-worker 5003)|http://127.0.0.1:$(port backtest-worker-2 5003)"
containers() { docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$PROJECT" | sort; }
before=$(containers)
rm -rf "$REPORTS/host" "$REPORTS/short" "$REPORTS/runner" "$REPORTS"/*.console.log
mkdir -p "$REPORTS/host" "$REPORTS/short" "$REPORTS/runner"

say "attached from the host: $backend"
attach() { "$PY" -m canaryspec run -D target=attach -D "backend_url=$backend" \
               -D "worker_urls=$workers" "$@"; }
if ! attach -D "expect_workers=$EXPECTED" -D "reports_dir=$REPORTS/host" \
        > "$REPORTS/host.console.log" 2>&1; then
    say "FAILED: the run from the host (see $REPORTS/host.console.log)"; failed=1
fi
tail -n 2 "$REPORTS/host.console.log"

say "attached from the host, expecting three training workers: must fail"
if attach -D expect_workers=training:3 -D registration_timeout_s=5 -D "reports_dir=$REPORTS/short" \
        --tags=@workers -n "as the deployment expects" > "$REPORTS/short.console.log" 2>&1; then
    say "FAILED: a deployment short of a training worker passed"; failed=1
elif ! grep -q "2 training worker(s) registered, 3 expected" "$REPORTS/short/summary.md"; then
    say "FAILED: the shortfall was not named (see $REPORTS/short/summary.md)"; failed=1
else
    say "refused as it should be: 2 training worker(s) registered, 3 expected"
fi

say "attached from $RUNNER_IMAGE on the deployment's network"
# As the caller's user (the image's own is non-root too): its reports are the caller's files.
if ! docker run --rm --user "$(id -u):$(id -g)" --network "${PROJECT}_canary" \
        -v "$REPORTS/runner:/reports" \
        "$RUNNER_IMAGE" -D backend_url=http://backend:8000 -D "expect_workers=$EXPECTED" \
        > "$REPORTS/runner.console.log" 2>&1; then
    say "FAILED: the run from the runner image (see $REPORTS/runner.console.log)"; failed=1
fi
tail -n 2 "$REPORTS/runner.console.log"

after=$(containers)
if [ "$before" != "$after" ]; then
    say "FAILED: the deployment's containers changed"; diff <(echo "$before") <(echo "$after") || true
    failed=1
else
    say "the deployment's $(echo "$before" | wc -l) containers are the same ones, before and after"
fi
active=$(curl -fsS "$backend/api/v1/operations?active_only=true" |
         "$PY" -c 'import json, sys; print(json.load(sys.stdin)["active_count"])')
if [ "$active" != "0" ]; then
    say "FAILED: $active operation(s) left active in the deployment"; failed=1
else
    say "no operation left active"
fi
[ "$failed" = 0 ] && say "PASSED" || say "FAILED"
exit "$failed"
