"""Every setting labkeep reads from the environment, and where it stores things.

Each environment variable is declared once below as a ``Setting`` (its names, default and effect);
other modules ask the setting instead of reading ``os.environ`` (a test holds them to it, and the
documentation's settings table is generated from ``SETTINGS``). ``LABKEEP_*`` names come first and
win; the ``MLFLOW_*`` names an MLflow user already sets are honoured after them.

Store precedence: an explicit ``set_tracking_uri()`` > ``LABKEEP_TRACKING_URI`` >
``MLFLOW_TRACKING_URI`` > the embedded default, a SQLite file ``labkeep.db`` with an artifact folder
``labkeep-artifacts/`` beside it in the current directory.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

DEFAULT_DB_FILE = "labkeep.db"
DEFAULT_ARTIFACTS_DIR = "labkeep-artifacts"

_tracking_uri: str | None = None
_registry_uri: str | None = None

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class Setting:
    """One environment setting: the variable names read (first set wins), a default and its effect."""

    __slots__ = ("names", "default", "doc", "group")

    def __init__(self, *names: str, default: str | None = None, doc: str, group: str) -> None:
        self.names, self.default, self.doc, self.group = names, default, doc, group
        SETTINGS.append(self)

    @property
    def name(self) -> str:
        return self.names[0]

    def get(self) -> str | None:
        """The first non-empty value among the names, else the default."""
        for name in self.names:
            value = os.environ.get(name)
            if value:
                return value
        return self.default

    def raw(self) -> str | None:
        """The value of the first name present in the environment, even an empty one; no default."""
        for name in self.names:
            if name in os.environ:
                return os.environ[name]
        return None

    def is_set(self) -> bool:
        return any(os.environ.get(name) for name in self.names)

    def flag(self) -> bool:
        """A yes/no setting: 1/true/yes/on or 0/false/no/off (any case)."""
        value = (self.get() or "").strip().lower()
        if value in _TRUE or value in _FALSE or value == "":
            return value in _TRUE
        raise _bad_value(self, value, "true or false")

    def number(self) -> float:
        value = self.get()
        try:
            return float(value) if value is not None else 0.0
        except ValueError:
            raise _bad_value(self, value, "a number") from None

    def integer(self) -> int:
        value = self.get()
        try:
            return int(value) if value is not None else 0
        except ValueError:
            raise _bad_value(self, value, "an integer") from None

    def items(self) -> list[str]:
        """A comma-separated list."""
        return [x.strip() for x in (self.get() or "").split(",") if x.strip()]


def _bad_value(setting: Setting, value: str | None, want: str) -> Exception:
    from labkeep.exceptions import InvalidParameterValue

    set_as = next((n for n in setting.names if os.environ.get(n)), setting.name)
    return InvalidParameterValue(f"The environment variable {set_as} must be {want}, got {value!r}.")


SETTINGS: list[Setting] = []

# ---- where runs and models go
TRACKING_URI = Setting("LABKEEP_TRACKING_URI", "MLFLOW_TRACKING_URI", group="stores",
                       doc="the tracking store: a database URI, a folder or a server URL")  # fmt: skip
REGISTRY_URI = Setting("LABKEEP_REGISTRY_URI", "MLFLOW_REGISTRY_URI", group="stores",
                       doc="the model registry store (default: the tracking URI)")  # fmt: skip
ARTIFACT_ROOT = Setting("LABKEEP_ARTIFACT_ROOT", "LABKEEP_DEFAULT_ARTIFACT_ROOT", group="stores",
                        doc="where a database store keeps artifacts (default: beside a SQLite file, else ./labkeep-artifacts)")  # fmt: skip
REGISTRY_STAGES = Setting("LABKEEP_REGISTRY_STAGES", group="stores",
                          doc="the model stages a registry accepts, comma-separated (default: mlflow's four)")  # fmt: skip
SQL_POOL_SIZE = Setting("LABKEEP_SQL_POOL_SIZE", default="5", group="stores",
                        doc="connections kept open per process to PostgreSQL/MySQL")  # fmt: skip
SQL_MAX_OVERFLOW = Setting("LABKEEP_SQL_MAX_OVERFLOW", default="10", group="stores",
                           doc="extra connections a busy process may open beyond the pool")  # fmt: skip
EXPERIMENT_NAME = Setting("LABKEEP_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME", group="runs",
                          doc="the experiment new runs go to, by name")  # fmt: skip
EXPERIMENT_ID = Setting("LABKEEP_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID", group="runs",
                        doc="the experiment new runs go to, by id")  # fmt: skip
RUN_ID = Setting("LABKEEP_RUN_ID", "MLFLOW_RUN_ID", group="runs", doc="the run `start_run()` resumes")
RUN_CONTEXT = Setting("LABKEEP_RUN_CONTEXT", "MLFLOW_RUN_CONTEXT", group="runs",
                      doc="extra tags for new runs, as a JSON object")  # fmt: skip
DISABLE_GIT_CONTEXT = Setting("LABKEEP_DISABLE_GIT_CONTEXT", default="false", group="runs",
                              doc="do not record the git commit, branch and diff of the entry point")  # fmt: skip
TRUNCATE_LONG_VALUES = Setting("MLFLOW_TRUNCATE_LONG_VALUES", default="true", group="runs",
                               doc="shorten over-long param/tag values with a warning instead of failing")  # fmt: skip
MODE = Setting("LABKEEP_MODE", default="online", group="runs",
               doc="online, offline (log to the offline store even when the tracking URI is a server) or auto (offline only when the server does not answer); `labkeep.init(mode=...)` sets it in code")  # fmt: skip
OFFLINE_DIR = Setting("LABKEEP_OFFLINE_DIR", default="~/.labkeep/offline", group="runs",
                      doc="the offline store's folder, which `labkeep sync` pushes")  # fmt: skip
# ---- talking to a server
TRACKING_USERNAME = Setting("LABKEEP_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME", group="client",
                            doc="HTTP Basic user name for a server (also the user recorded in registry history)")  # fmt: skip
TRACKING_PASSWORD = Setting("LABKEEP_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD", group="client",
                            doc="HTTP Basic password for a server")  # fmt: skip
TRACKING_TOKEN = Setting("LABKEEP_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN", group="client",
                         doc="a Bearer token for a server")  # fmt: skip
TRACKING_INSECURE_TLS = Setting("LABKEEP_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_INSECURE_TLS", default="false",
                                group="client", doc="skip TLS certificate verification")  # fmt: skip
TRACKING_SERVER_CERT_PATH = Setting("LABKEEP_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_SERVER_CERT_PATH",
                                    group="client", doc="CA bundle that verifies the server")  # fmt: skip
TRACKING_CLIENT_CERT_PATH = Setting("LABKEEP_TRACKING_CLIENT_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH",
                                    group="client", doc="client certificate for mutual TLS")  # fmt: skip
HTTP_REQUEST_MAX_RETRIES = Setting("LABKEEP_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                                   default="5", group="client", doc="retries of a failed request")  # fmt: skip
HTTP_REQUEST_BACKOFF_FACTOR = Setting("LABKEEP_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
                                      default="0.5", group="client", doc="seconds of the first retry delay (doubling)")  # fmt: skip
HTTP_REQUEST_BACKOFF_JITTER = Setting("LABKEEP_HTTP_REQUEST_BACKOFF_JITTER", "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
                                      default="0.2", group="client", doc="random seconds added to each retry delay")  # fmt: skip
HTTP_RESPECT_RETRY_AFTER = Setting("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", default="true", group="client",
                                   doc="wait as long as a server's Retry-After asks")  # fmt: skip
HTTP_REQUEST_TIMEOUT = Setting("LABKEEP_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT", default="120",
                               group="client", doc="seconds before a request times out")  # fmt: skip
ARTIFACTS_PROGRESS_BAR = Setting("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", default="true", group="client",
                                 doc="progress bars for artifact uploads and downloads (on a terminal)")  # fmt: skip
# ---- S3 artifacts
S3_ENDPOINT_URL = Setting("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL", group="s3",
                          doc="an S3-compatible endpoint for s3:// artifacts")  # fmt: skip
S3_IGNORE_TLS = Setting("MLFLOW_S3_IGNORE_TLS", default="false", group="s3",
                        doc="skip TLS verification of the S3 endpoint")  # fmt: skip
S3_PART_SIZE = Setting("LABKEEP_S3_PART_SIZE", "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", group="s3",
                       doc="bytes per part of a multipart upload")  # fmt: skip
# ---- server
BACKEND_STORE_URI = Setting("LABKEEP_BACKEND_STORE_URI", group="server",
                            doc="`labkeep server --backend-store-uri` when the flag is not given")  # fmt: skip
SERVER_ALLOWED_HOSTS = Setting("MLFLOW_SERVER_ALLOWED_HOSTS", group="server",
                               doc="`--allowed-hosts` when the flag is not given")  # fmt: skip
SERVER_CORS_ALLOWED_ORIGINS = Setting("MLFLOW_SERVER_CORS_ALLOWED_ORIGINS", group="server",
                                      doc="`--cors-allowed-origins` when the flag is not given")  # fmt: skip
SERVER_THREADS = Setting("LABKEEP_SERVER_THREADS", group="server",
                         doc="`--threads` when the flag is not given: store-call threads per server process (default 16)")  # fmt: skip
SERVER_LOG_LEVEL = Setting("LABKEEP_SERVER_LOG_LEVEL", default="warning", group="server",
                           doc="uvicorn's log level")  # fmt: skip
AUTH_ADMIN_USERNAME = Setting("LABKEEP_AUTH_ADMIN_USERNAME", group="server",
                              doc="with auth on and no users yet: the first admin's name (default admin)")  # fmt: skip
AUTH_ADMIN_PASSWORD = Setting("LABKEEP_AUTH_ADMIN_PASSWORD", group="server",
                              doc="with auth on and no users yet: the first admin's password")  # fmt: skip
MLFLOW_AUTH_ADMIN_PASSWORD = Setting("MLFLOW_AUTH_ADMIN_PASSWORD", group="server",
                                     doc="mlflow's spelling: the password of a first admin named admin")  # fmt: skip
AUTH_CONFIG_PATH = Setting("MLFLOW_AUTH_CONFIG_PATH", group="server",
                           doc="an mlflow basic-auth INI file: admin_username, admin_password, default_permission")  # fmt: skip
SERVER_SETTINGS = Setting("LABKEEP_SERVER_SETTINGS", group="server",
                          doc="set by `labkeep server` for its worker processes: the server's settings as JSON")  # fmt: skip
DISABLE_OTLP_INGEST = Setting("LABKEEP_DISABLE_OTLP_INGEST", default="false", group="server",
                              doc="refuse OTLP trace uploads on /v1/traces")  # fmt: skip
# ---- models and serving
SCORING_SERVER_REQUEST_TIMEOUT = Setting("LABKEEP_SCORING_SERVER_REQUEST_TIMEOUT",
                                         "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", default="60", group="serving",
                                         doc="seconds a prediction may take before the scoring server answers 503")  # fmt: skip
SERVING_MODEL_PATH = Setting("LABKEEP_SERVING_MODEL_PATH", group="serving",
                             doc="set by `labkeep models serve` for its workers: the model folder")  # fmt: skip
ALLOW_PICKLE_DESERIALIZATION = Setting("LABKEEP_ALLOW_PICKLE_DESERIALIZATION", "MLFLOW_ALLOW_PICKLE_DESERIALIZATION",
                                       default="false", group="serving",
                                       doc="let `labkeep.pytorch` load models saved with pickle (loading a pickle runs code from the file)")  # fmt: skip
SKOPS_CACHE = Setting("LABKEEP_SKOPS_CACHE", default="true", group="serving",
                      doc="cache the trusted-type scan of skops models")  # fmt: skip
SKOPS_CACHE_DIR = Setting("LABKEEP_SKOPS_CACHE_DIR", group="serving",
                          doc="where that cache lives (default: the user cache folder)")  # fmt: skip
# ---- tracing and LLMs
TRACE_MAX_PAYLOAD_CHARS = Setting("LABKEEP_TRACE_MAX_PAYLOAD_CHARS", group="tracing",
                                  doc="characters kept of a span's inputs/outputs")  # fmt: skip
ASYNC_TRACE_LOGGING = Setting("LABKEEP_ASYNC_TRACE_LOGGING", default="false", group="tracing",
                              doc="send finished traces from a background thread")  # fmt: skip
TRACE_RAISE_ON_EXPORT_ERROR = Setting("LABKEEP_TRACE_RAISE_ON_EXPORT_ERROR", default="false", group="tracing",
                                      doc="raise instead of warning when a trace cannot be stored")  # fmt: skip
JUDGE_BASE_URL = Setting("LABKEEP_JUDGE_BASE_URL", "OPENAI_BASE_URL", group="tracing",
                         doc="OpenAI-compatible endpoint of LLM judges")  # fmt: skip
JUDGE_API_KEY = Setting(
    "LABKEEP_JUDGE_API_KEY", "OPENAI_API_KEY", group="tracing", doc="API key of LLM judges"
)
JUDGE_MODEL = Setting(
    "LABKEEP_JUDGE_MODEL", default="gpt-4o-mini", group="tracing", doc="model name of LLM judges"
)
JUDGE_TIMEOUT = Setting("LABKEEP_JUDGE_TIMEOUT", group="tracing", doc="seconds a judge call may take")
# ---- projects
PROJECT_SERVER = Setting("LABKEEP_PROJECT_SERVER", default="auto", group="projects",
                         doc="start a temporary server for project code that uses mlflow itself: auto, always or never")  # fmt: skip
PROJECT_SERVER_MODE = Setting("LABKEEP_PROJECT_SERVER_MODE", default="thread", group="projects",
                              doc="run that temporary server in a thread or a process")  # fmt: skip
ENV_CACHE = Setting("LABKEEP_ENV_CACHE", group="projects",
                    doc="where project environments are cached (default: the user cache folder)")  # fmt: skip
UV = Setting("LABKEEP_UV", group="projects", doc="the uv executable for project environments")
CONDA_EXE = Setting("LABKEEP_CONDA_EXE", group="projects", doc="the conda executable")
DOCKER_EXE = Setting("LABKEEP_DOCKER_EXE", group="projects", doc="the docker executable")


def store_cache_key() -> tuple[str | None, ...]:
    """What the store URIs are computed from: cheap to read on every fluent call (resolving the
    URIs themselves costs more than a whole ``log_metric`` transaction)."""
    environ = os.environ
    return (
        _tracking_uri,
        _registry_uri,
        *[environ.get(name) for name in TRACKING_URI.names + REGISTRY_URI.names],
    )


def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Use ``uri`` for tracking from now on (None goes back to env vars / the default)."""
    global _tracking_uri
    _tracking_uri = None if uri is None else str(uri)


def set_registry_uri(uri: str | None) -> None:
    global _registry_uri
    _registry_uri = uri


def get_tracking_uri() -> str:
    """The tracking URI in force, normalized (a folder path becomes ``sqlite:///<folder>/labkeep.db``)."""
    uri = _tracking_uri or TRACKING_URI.get()
    if not uri:
        return f"sqlite:///{os.path.abspath(DEFAULT_DB_FILE)}"
    uri = normalize_store_uri(uri)
    if uri.startswith(("http://", "https://")) and (MODE.is_set() or _offline_init()):
        from labkeep.offline import route

        return route(uri)  # offline/auto mode: maybe the local offline store
    return uri


def _offline_init() -> bool:
    import sys

    module = sys.modules.get("labkeep.offline")
    return module is not None and module._mode is not None


def get_registry_uri() -> str:
    uri = _registry_uri or REGISTRY_URI.get()
    return normalize_store_uri(uri) if uri else get_tracking_uri()


def is_tracking_uri_set() -> bool:
    return bool(_tracking_uri or TRACKING_URI.get())


def normalize_store_uri(uri: str) -> str:
    """Turn a plain folder path or ``file:`` URI into the SQLite store inside that folder."""
    scheme = urlparse(uri).scheme
    if scheme == "file":
        uri = unquote(urlparse(uri).path)
        scheme = ""
    if scheme in ("", "databricks") or (len(scheme) == 1 and os.name == "nt"):
        folder = os.path.abspath(os.path.expanduser(uri))
        return f"sqlite:///{os.path.join(folder, DEFAULT_DB_FILE)}"
    if scheme == "sqlite" and not uri.startswith("sqlite:////") and uri.startswith("sqlite:///"):
        rel = uri[len("sqlite:///") :]
        if rel and rel != ":memory:" and not rel.startswith("/"):
            return f"sqlite:///{os.path.abspath(rel)}"
    return uri


def default_artifact_root(store_uri: str) -> str:
    """Artifacts beside a SQLite file; otherwise ``LABKEEP_ARTIFACT_ROOT`` or ``./labkeep-artifacts``."""
    explicit = ARTIFACT_ROOT.get()
    if explicit:
        return explicit if "://" in explicit else os.path.abspath(explicit)
    if store_uri.startswith("sqlite:///"):
        db_path = store_uri[len("sqlite:///") :].split("?", 1)[0]
        return os.path.join(os.path.dirname(os.path.abspath(db_path)), DEFAULT_ARTIFACTS_DIR)
    return os.path.abspath(DEFAULT_ARTIFACTS_DIR)
