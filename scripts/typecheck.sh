#!/usr/bin/env bash
# Static type check: mypy from .venv with the [tool.mypy] settings in pyproject.toml.
# Usage: bash scripts/typecheck.sh [mypy args...]
#   bash scripts/typecheck.sh                      # the whole labkeep package
#   bash scripts/typecheck.sh --strict labkeep/stores/base.py
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$REPO_ROOT"

ensure_venv
install_project dev
[ -x "$VENV/bin/mypy" ] || die "mypy is missing from .venv (it comes with the dev extra: uv pip install -e '.[dev]')"

log "mypy $*"
exec "$VENV/bin/mypy" "$@"
