#!/usr/bin/env bash
# Run MLflow's own REST tests (tests/tracking/test_rest_tracking.py) against a server process.
# Usage: bash bench/compat/run.sh [labkeep|mlflow] [sqlite|postgresql] [extra pytest args...]
# Env:   MLFLOW_SRC_GIT   a git directory of github.com/harupy/mlflow (default: /work/.mirror/harupy+mlflow/repo)
#        PEER_COMMIT      the commit whose tests/ are used (default a89bed67689f916c79a8e1c1ad6cfb5cd7649c77)
#        PEER_DIR         where tests/ is extracted (default: a temp folder; never inside this repository)
#        RESULTS_DIR      where junit XML and logs go (default: bench/compat/results, git-ignored)
# Then: .venv/bin/python bench/compat/score.py   (labkeep vs mlflow pass counts on the same selection)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SERVER="${1:-labkeep}"
BACKEND="${2:-sqlite}"
shift $(( $# > 2 ? 2 : $# ))
PY="${PYTHON:-$REPO/.venv/bin/python}"
SRC="${MLFLOW_SRC_GIT:-/work/.mirror/harupy+mlflow/repo}"
COMMIT="${PEER_COMMIT:-a89bed67689f916c79a8e1c1ad6cfb5cd7649c77}"
PEER="${PEER_DIR:-${TMPDIR:-/tmp}/labkeep-compat-peer}"
RESULTS="${RESULTS_DIR:-$HERE/results}"
case "$PEER/" in "$REPO"/*) echo "error: PEER_DIR must be outside the repository" >&2; exit 2 ;; esac
[ -d "$SRC" ] || { echo "error: no MLflow git directory at $SRC (set MLFLOW_SRC_GIT)" >&2; exit 2; }
"$PY" -c 'import mlflow, sys; sys.exit(mlflow.__version__ != "3.17.2")' \
    || { echo "error: the harness needs mlflow==3.17.2 in $PY's environment" >&2; exit 2; }

if [ ! -f "$PEER/.commit" ] || [ "$(cat "$PEER/.commit")" != "$COMMIT" ]; then
    echo "==> extracting tests/ of $COMMIT into $PEER" >&2
    rm -rf "$PEER"; mkdir -p "$PEER"
    git --git-dir="$SRC" archive "$COMMIT" tests | tar -x -C "$PEER"
    echo "$COMMIT" > "$PEER/.commit"
fi
cp "$HERE/integration_test_utils.py" "$PEER/tests/tracking/integration_test_utils.py"

# excluded tests (one per line, "test_id | reason") are deselected
DESELECT=()
while IFS= read -r line; do
    case "$line" in ""|\#*) continue ;; esac
    id="${line%%|*}"; id="${id%"${id##*[![:space:]]}"}"; id="${id#"${id%%[![:space:]]*}"}"
    DESELECT+=(--deselect "tests/tracking/test_rest_tracking.py::$id")
done < "$HERE/exclusions.txt"

# ONLY=file: run just the tests named in it (one test name a line, e.g. test_foo[sqlalchemy])
TARGETS=(tests/tracking/test_rest_tracking.py)
if [ -n "${ONLY:-}" ]; then
    TARGETS=()
    while IFS= read -r name; do
        [ -n "$name" ] && TARGETS+=("tests/tracking/test_rest_tracking.py::$name")
    done < "$ONLY"
fi

mkdir -p "$RESULTS"
echo "==> $SERVER server on $BACKEND: tests/tracking/test_rest_tracking.py (${#DESELECT[@]} deselect args)" >&2
cd "$PEER"
set +e
COMPAT_SERVER="$SERVER" COMPAT_BACKEND="$BACKEND" MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
    nice "$PY" -m pytest -p no:cacheprovider -q -rfE --timeout=180 \
    --junitxml="$RESULTS/$SERVER-$BACKEND.xml" \
    "${TARGETS[@]}" "${DESELECT[@]}" "$@" > "$RESULTS/$SERVER-$BACKEND.log" 2>&1
rc=$?
set -e
tail -n 3 "$RESULTS/$SERVER-$BACKEND.log"
echo "==> junit: $RESULTS/$SERVER-$BACKEND.xml (pytest exit $rc)" >&2
