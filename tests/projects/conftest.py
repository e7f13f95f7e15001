import os

import pytest


@pytest.fixture(scope="session")
def shared_env_cache(tmp_path_factory):
    """One environment cache for the session, so each distinct environment is built once."""
    return str(tmp_path_factory.mktemp("env-cache"))


@pytest.fixture(autouse=True)
def _env_cache(monkeypatch, shared_env_cache):
    monkeypatch.setenv("LABKEEP_ENV_CACHE", shared_env_cache)
    # Child processes keep compiled bytecode in a private cache: this machine sets
    # PYTHONDONTWRITEBYTECODE, and every `import mlflow` in a child would recompile its sources.
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", os.path.join(base, "labkeep", "test-pycache"))
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    yield


@pytest.fixture
def fresh_env_cache(monkeypatch, tmp_path):
    path = str(tmp_path / "fresh-cache")
    monkeypatch.setenv("LABKEEP_ENV_CACHE", path)
    return path


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The embedded store in a fresh folder, used by both the runner and the assertions."""
    uri = f"sqlite:///{tmp_path}/store/labkeep.db"
    os.makedirs(tmp_path / "store", exist_ok=True)
    monkeypatch.setenv("LABKEEP_TRACKING_URI", uri)
    return uri


@pytest.fixture
def tracking_server(tmp_path):
    """A real ``labkeep server`` process on a free loopback port, with its own SQLite store."""
    from tests.server.helpers import running_server

    store = tmp_path / "server"
    store.mkdir()
    args = ["--backend-store-uri", f"sqlite:///{store}/s.db", "--artifacts-destination", str(store / "art")]
    with running_server(args, cwd=str(store)) as (url, _proc):
        yield url
