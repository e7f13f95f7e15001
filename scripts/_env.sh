# Shared setup for scripts/*.sh: a project virtualenv at .venv with labkeep and its dev extra.
# Source it (". scripts/_env.sh"), then call the functions you need. Safe to re-run: each step
# checks first and does nothing when the work is already done.

# Write bytecode caches: with PYTHONDONTWRITEBYTECODE set, every process of the test suite
# (servers, CLIs, training scripts) would recompile sklearn, pandas and mlflow from source.
unset PYTHONDONTWRITEBYTECODE

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
VPY="$VENV/bin/python"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The machine's Python (3.10 or newer) used to create .venv.
find_python() {
    local cand
    for cand in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10; do
        [ -n "$cand" ] || continue
        command -v "$cand" >/dev/null 2>&1 || continue
        if "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    die "no python3 >= 3.10 found (set PYTHON=/path/to/python3)"
}

# Create .venv when missing or broken (e.g. its interpreter moved away), and give it uv.
ensure_venv() {
    if [ -x "$VPY" ] && "$VPY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
        :
    else
        local py
        py="$(find_python)"
        log "creating .venv with $py ($("$py" --version 2>&1))"
        rm -rf "$VENV"
        "$py" -m venv "$VENV" || die "could not create $VENV"
    fi
    if [ ! -x "$VENV/bin/uv" ]; then
        log "installing uv into .venv"
        "$VPY" -m pip install --quiet --disable-pip-version-check uv || die "could not install uv"
    fi
}

# Install labkeep editable with the given extra ("dev" by default). Skipped when pyproject.toml
# has not changed since the last successful install and labkeep still imports.
install_project() {
    local extra="${1:-dev}"
    local stamp="$VENV/.labkeep-install-$extra"
    local want
    want="$(cd "$REPO_ROOT" && sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$VPY" -c 'import labkeep' >/dev/null 2>&1 && [ -x "$VENV/bin/labkeep" ]; then
        return 0
    fi
    log "installing labkeep[$extra] into .venv (uv pip install -e '.[$extra]')"
    (cd "$REPO_ROOT" && "$VENV/bin/uv" pip install --quiet --python "$VPY" -e ".[$extra]") \
        || die "dependency install failed"
    echo "$want" > "$stamp"
}

# PyTorch for the framework tests (PyTorch, Lightning, Transformers, PEFT), CPU build. Installed
# with pip before the uv step: pip honours the machine's pip configuration (a local CPU wheel
# where one lies on disk), while uv would resolve a multi-GB CUDA build. The uv step then finds
# torch already satisfied and leaves it alone.
TORCH_VERSION="${LABKEEP_TORCH_VERSION:-2.13.0}"
ensure_torch() {
    if "$VPY" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" \
        >/dev/null 2>&1; then
        return 0
    fi
    log "installing torch==$TORCH_VERSION (CPU) into .venv with pip"
    "$VPY" -m pip install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" \
        || die "could not install torch==$TORCH_VERSION"
}
