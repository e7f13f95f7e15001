#!/usr/bin/env bash
# Build the documentation site (MkDocs) into build/site, warnings as errors.
# Usage: bash scripts/docs.sh [serve]   ("serve" previews it at http://127.0.0.1:8000/)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$REPO_ROOT"

ensure_venv
install_project dev

if [ "${1:-}" = "serve" ]; then
    exec "$VENV/bin/mkdocs" serve --strict -a 127.0.0.1:8000
fi
"$VENV/bin/mkdocs" build --strict --site-dir "${DOCS_SITE_DIR:-build/site}"
log "documentation built in ${DOCS_SITE_DIR:-build/site}/index.html"
