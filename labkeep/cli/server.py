"""``labkeep server`` and ``labkeep ui``: start the tracking server (REST API, artifact proxy, UI)."""

from __future__ import annotations

import os

import click

from labkeep import config


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
        click.option(
            "--app-name",
            default=None,
            type=click.Choice(["basic-auth"]),
            help="Server app to run; 'basic-auth' turns authentication on (mlflow's spelling of --auth).",
        ),
        click.option("--auth", "auth", is_flag=True, default=False, help="Turn authentication on (users, tokens, permissions)."),
        click.option(
            "--auth-default-permission",
            default=None,
            type=click.Choice(["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS"]),
            help="Permission users have on resources they have no grant for (default READ, or "
            "default_permission in MLFLOW_AUTH_CONFIG_PATH).",
        ),
        click.option(
            "--auth-trusted-header",
            default=None,
            help="Identity header set by an authenticating reverse proxy, e.g. X-Forwarded-User "
            "(accepted only from --auth-trusted-proxies).",
        ),
        click.option(
            "--auth-trusted-proxies",
            default=None,
            help="Comma-separated addresses/networks of the proxies allowed to send --auth-trusted-header.",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _run(**kw) -> None:
    from labkeep.config import DEFAULT_ARTIFACTS_DIR, DEFAULT_DB_FILE, normalize_store_uri
    from labkeep.server.main import serve
    from labkeep.server.settings import ServerSettings

    backend = kw["backend_store_uri"] or config.BACKEND_STORE_URI.get()
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
    from labkeep.server.settings import DEFAULT_THREADS, parse_threads

    try:
        threads = parse_threads(kw["threads"] or config.SERVER_THREADS.get() or str(DEFAULT_THREADS))
    except LabkeepException as exc:
        raise click.UsageError(exc.message) from None
    if kw["registry_stages"]:
        from labkeep.exceptions import LabkeepException
        from labkeep.registry.stages import STAGES_ENV, parse_stages

        try:
            parse_stages(kw["registry_stages"])
        except LabkeepException as exc:
            raise click.UsageError(exc.message) from None
        os.environ[STAGES_ENV] = kw["registry_stages"]  # read by every worker process
    auth = _auth_options(kw)
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
        allowed_hosts=_split(kw["allowed_hosts"] or config.SERVER_ALLOWED_HOSTS.get()),
        cors_allowed_origins=_split(kw["cors_allowed_origins"] or config.SERVER_CORS_ALLOWED_ORIGINS.get()),
        **auth,
    )
    try:
        if settings.auth_enabled:
            _check_auth_ready(settings)
        _warn_exposed(settings)
        serve(settings)
    except Exception as exc:  # a bad URI, an unreachable database: one line, non-zero exit
        from labkeep.exceptions import LabkeepException

        if isinstance(exc, LabkeepException | OSError | ImportError):
            raise click.ClickException(str(exc))
        raise


def _auth_options(kw: dict) -> dict:
    enabled = bool(kw["auth"] or kw["app_name"] == "basic-auth")
    header, proxies = kw["auth_trusted_header"], _split(kw["auth_trusted_proxies"])
    if header and not proxies:
        raise click.UsageError("--auth-trusted-header needs --auth-trusted-proxies (the proxies' addresses).")
    if (header or kw["auth_default_permission"]) and not enabled:
        raise click.UsageError("--auth-trusted-header and --auth-default-permission need --app-name basic-auth.")
    default = kw["auth_default_permission"]
    if enabled and not default:
        from labkeep.exceptions import LabkeepException
        from labkeep.server.auth.bootstrap import read_config_file

        try:
            default = read_config_file().get("default_permission")
        except LabkeepException as exc:
            raise click.UsageError(exc.message) from None
    if proxies:
        import ipaddress

        for p in proxies:
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                raise click.UsageError(f"--auth-trusted-proxies: {p!r} is not an address or network.") from None
    return {
        "auth_enabled": enabled,
        "auth_default_permission": (default or "READ").upper(),
        "auth_trusted_header": header,
        "auth_trusted_proxies": proxies,
    }


def _check_auth_ready(settings) -> None:
    """Refuse to start in auth mode without a way to get the first admin (no traceback, exit 1)."""
    from labkeep.server.app import open_auth
    from labkeep.server.stores import open_stores

    try:
        from labkeep.server.auth import permissions

        permissions.get(settings.auth_default_permission)
        tracking, registry, _ = open_stores(settings)
        try:
            open_auth(settings, tracking, registry)
        finally:
            tracking.close()
    except Exception as exc:
        from labkeep.exceptions import LabkeepException

        if isinstance(exc, LabkeepException):
            raise click.ClickException(exc.message) from None
        raise


def _warn_exposed(settings) -> None:
    """Say loudly what a server bound to a non-loopback address accepts."""
    if settings.bound_local:
        return
    from labkeep.server.security import exposure_warnings

    for line in exposure_warnings(settings):
        click.secho(f"WARNING: {line}", fg="yellow", err=True)


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
