"""``labkeep server`` and ``labkeep ui``: start the tracking server (REST API, artifact proxy, UI)."""

from __future__ import annotations

import os

import click


def _split(value: str | None) -> list[str]:
    return [x.strip() for x in (value or "").split(",") if x.strip()]


def _options(func):
    opts = [
        click.option("--host", "-h", default="127.0.0.1", show_default=True, help="Interface to bind."),
        click.option("--port", "-p", default=5000, show_default=True, type=int, help="Port to listen on."),
        click.option(
            "--backend-store-uri",
            default=None,
            help="Database for runs and models (sqlite:///…, postgresql://…, mysql+pymysql://…). "
            "Default: ./labkeep.db.",
        ),
        click.option(
            "--registry-store-uri", default=None, help="Registry database (default: backend store)."
        ),
        click.option(
            "--artifacts-destination",
            default=None,
            help="Where the server stores proxied artifacts: a directory or s3://bucket/prefix. "
            "Default: ./labkeep-artifacts.",
        ),
        click.option(
            "--default-artifact-root",
            default=None,
            help="Artifact root for new experiments (default mlflow-artifacts:/, i.e. through this server).",
        ),
        click.option(
            "--serve-artifacts/--no-serve-artifacts",
            default=True,
            show_default=True,
            help="Proxy artifact uploads/downloads through the server.",
        ),
        click.option(
            "--workers", "-w", default=1, show_default=True, type=int, help="uvicorn worker processes."
        ),
        click.option(
            "--threads",
            default=None,
            help="Worker threads per server process for database and artifact calls "
            "(default: $LABKEEP_SERVER_THREADS or 16).",
        ),
        click.option("--static-prefix", default="", help="Path prefix for every route, e.g. /labkeep."),
        click.option(
            "--allowed-hosts",
            default=None,
            help="Comma-separated Host header values to accept (default: local names when bound to localhost).",
        ),
        click.option(
            "--cors-allowed-origins", default=None, help="Comma-separated origins allowed for CORS requests."
        ),
        click.option(
            "--registry-stages",
            default=None,
            help="Comma-separated model version stages, e.g. 'Dev,QA,Staging,Production,Archived' "
            "(default: None,Staging,Production,Archived; sets LABKEEP_REGISTRY_STAGES).",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _run(**kw) -> None:
    from labkeep.config import DEFAULT_ARTIFACTS_DIR, DEFAULT_DB_FILE, normalize_store_uri
    from labkeep.server.main import serve
    from labkeep.server.settings import ServerSettings

    backend = kw["backend_store_uri"] or os.environ.get("LABKEEP_BACKEND_STORE_URI")
    if not backend:
        backend = f"sqlite:///{os.path.abspath(DEFAULT_DB_FILE)}"
    backend = normalize_store_uri(backend)  # relative sqlite paths and folders, like the library
    destination = None
    if kw["serve_artifacts"]:
        destination = kw["artifacts_destination"] or os.path.abspath(DEFAULT_ARTIFACTS_DIR)
        if "://" not in destination:
            destination = os.path.abspath(destination)
    prefix = kw["static_prefix"] or ""
    if prefix and not prefix.startswith("/"):
        raise click.UsageError("--static-prefix must start with '/'.")
    if kw["workers"] < 1:
        raise click.UsageError("--workers must be at least 1.")
    from labkeep.exceptions import LabkeepException
    from labkeep.server.settings import DEFAULT_THREADS, THREADS_ENV, parse_threads

    try:
        threads = parse_threads(kw["threads"] or os.environ.get(THREADS_ENV) or str(DEFAULT_THREADS))
    except LabkeepException as exc:
        raise click.UsageError(exc.message) from None
    if kw["registry_stages"]:
        from labkeep.exceptions import LabkeepException
        from labkeep.stores.registry_stages import STAGES_ENV, parse_stages

        try:
            parse_stages(kw["registry_stages"])
        except LabkeepException as exc:
            raise click.UsageError(exc.message) from None
        os.environ[STAGES_ENV] = kw["registry_stages"]  # read by every worker process
    settings = ServerSettings(
        backend_store_uri=backend,
        registry_store_uri=kw["registry_store_uri"],
        artifacts_destination=destination,
        default_artifact_root=kw["default_artifact_root"],
        host=kw["host"],
        port=kw["port"],
        workers=kw["workers"],
        threads=threads,
        static_prefix=prefix.rstrip("/"),
        allowed_hosts=_split(kw["allowed_hosts"] or os.environ.get("MLFLOW_SERVER_ALLOWED_HOSTS")),
        cors_allowed_origins=_split(
            kw["cors_allowed_origins"] or os.environ.get("MLFLOW_SERVER_CORS_ALLOWED_ORIGINS")
        ),
    )
    try:
        serve(settings)
    except Exception as exc:  # a bad URI, an unreachable database: one line, non-zero exit
        from labkeep.exceptions import LabkeepException

        if isinstance(exc, LabkeepException | OSError | ImportError):
            raise click.ClickException(str(exc))
        raise


@click.command("server")
@_options
def server(**kw) -> None:
    """Start the tracking server: MLflow-compatible REST API, artifact proxy and web UI."""
    _run(**kw)


@click.command("ui")
@_options
def ui(**kw) -> None:
    """Start the web UI (the same server as ``labkeep server``)."""
    _run(**kw)
