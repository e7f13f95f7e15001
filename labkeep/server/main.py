"""Entry points for uvicorn: the app factory worker processes call, and ``serve(settings)``."""

from __future__ import annotations

import os
import sys
from typing import Any

from labkeep import config
from labkeep.server.settings import ServerSettings


def app_from_env() -> Any:
    """uvicorn factory (``labkeep.server.main:app_from_env``): settings come from LABKEEP_SERVER_* vars."""
    from labkeep.server.app import create_app

    return create_app(ServerSettings.from_env())


def serve(settings: ServerSettings) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM."""
    import uvicorn

    os.environ.update(settings.to_env())
    if settings.workers > 1:
        # Open the stores once here: creates/upgrades the schema before the workers race for it.
        from labkeep.server.stores import open_stores

        tracking, registry, _ = open_stores(settings)
        for store in (tracking, registry):
            if store is not None:
                store.close()
        app: Any = "labkeep.server.main:app_from_env"
    else:
        from labkeep.server.app import create_app

        app = create_app(settings)
    url = f"http://{_display_host(settings.host)}:{settings.port}{settings.static_prefix.rstrip('/')}/"
    print(f"labkeep server listening on {url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    # uvicorn shuts down gracefully, then re-raises the signal it caught; these handlers turn that
    # final re-raise into a normal exit (status 0) instead of a signal death or a KeyboardInterrupt.
    import signal

    def _exit(signum: int, frame: Any) -> None:
        print("labkeep server stopped", file=sys.stderr, flush=True)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    uvicorn.run(
        app,
        http="httptools",
        factory=isinstance(app, str),
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        log_level=config.SERVER_LOG_LEVEL.get(),
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
    )


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
