#!/usr/bin/env bash
# THE test command: set up .venv, make sure PostgreSQL and MariaDB answer, then ruff + mypy + pytest.
# Usage: bash scripts/test.sh [pytest args...]   e.g. bash scripts/test.sh tests/test_repo_health.py -x
# Env: LABKEEP_TEST_BACKENDS=sqlite skips the database servers (CI always uses all three);
#      LABKEEP_TEST_WORKERS=N sets the pytest-xdist workers (default 2, 0 = one process).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$REPO_ROOT"

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432 -U postgres
    else
        tcp_open 5432
    fi
}

mysql_ready() {
    local admin
    admin="$(command -v mariadb-admin || command -v mysqladmin || true)"
    if [ -n "$admin" ]; then
        "$admin" --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1
    else
        tcp_open 3306
    fi
}

wait_for() {  # wait_for NAME CHECK_FN [seconds]
    local name="$1" check="$2" limit="${3:-60}" i
    for ((i = 0; i < limit * 2; i++)); do
        "$check" && return 0
        sleep 0.5
    done
    die "$name did not become ready within ${limit}s"
}

ensure_services() {
    case ",${LABKEEP_TEST_BACKENDS:-sqlite,postgresql,mysql}," in
        *,postgresql,*)
            if ! pg_ready; then
                log "starting PostgreSQL"
                pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
                wait_for PostgreSQL pg_ready
            fi ;;
    esac
    case ",${LABKEEP_TEST_BACKENDS:-sqlite,postgresql,mysql}," in
        *,mysql,*)
            if ! mysql_ready; then
                log "starting MariaDB"
                start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
                wait_for MariaDB mysql_ready
            fi ;;
    esac
}

# Debian's Chromium for the headless UI tests (never a browser download of a test tool's own).
ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "note: /usr/bin/chromium missing and cannot apt-get here; browser tests will skip"
        return 0
    fi
    log "installing Debian chromium (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || log "warning: apt-get update failed"
    apt-get install -y -qq chromium chromium-driver >/dev/null \
        || log "warning: chromium install failed; browser tests will skip"
}

# Debian's HAProxy for the multi-node test (tests/multinode: 3 servers behind a real balancer).
ensure_haproxy() {
    command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "note: haproxy missing and cannot apt-get here; the multi-node tests will skip"
        return 0
    fi
    log "installing Debian haproxy (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq haproxy >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq haproxy >/dev/null; } \
        || log "warning: haproxy install failed; the multi-node tests will skip"
}

ensure_venv
ensure_torch
install_project dev
ensure_services
ensure_chromium
ensure_haproxy

status=0
log "ruff check"
if ! "$VENV/bin/ruff" check "$REPO_ROOT"; then
    log "ruff check FAILED (see above)"
    status=1
fi

log "mypy"
if ! "$VENV/bin/mypy"; then
    log "mypy FAILED (see above)"
    status=1
fi

log "pytest $*"
set +e
# Two workers by default (most tests wait on servers, databases and browsers, so two processes keep
# both cores busy); whole files stay on one worker so module fixtures (a Ray head, a cluster) start
# once. LABKEEP_TEST_WORKERS=0 runs in one process.
workers=(-n "${LABKEEP_TEST_WORKERS:-2}" --dist loadfile)
[ "${LABKEEP_TEST_WORKERS:-2}" = 0 ] && workers=()
"$VPY" -m pytest -p no:cacheprovider -rfE "${workers[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    printf 'error: pytest collected no tests (exit 5) - check the paths/-k expression given: %s\n' "$*" >&2
    exit 5
fi
if [ "$rc" -ne 0 ]; then
    status="$rc"
elif [ "$status" -ne 0 ]; then
    log "tests passed but ruff check or mypy failed"
fi
exit "$status"
