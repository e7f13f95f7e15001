#!/usr/bin/env bash
# Quick start: install labkeep into .venv, then run examples/tutorial.py on the embedded store.
# Usage: bash scripts/quickstart.sh [--ui] [--no-serve]
#   --ui        start the web UI (`labkeep ui`) on what the tutorial logged, at the end
#   --no-serve  skip the model-serving step
# The store is labkeep.db + labkeep-artifacts/ in the repository root (both git-ignored).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$REPO_ROOT"

ensure_venv
install_project dev

log "running examples/tutorial.py in $REPO_ROOT"
exec "$VPY" examples/tutorial.py "$@"
