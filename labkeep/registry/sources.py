"""Where a model version's files live: validate a version ``source`` and resolve its storage location.

A source may be ``models:/<model_id>`` (a logged model), ``runs:/<run_id>/<path>`` (a run's
artifacts, or the logged model the run produced under that name), ``models:/<name>/<version>``
(another registered version), or a plain artifact URI / path. Plain URIs must lie inside the run's
or logged model's artifact root or inside the configured artifact storage, so the registry can never
be used to point at (and later serve) arbitrary server files.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.registry.validation import MAX_SOURCE_LENGTH

_LOGGED_MODEL_ID_RE = re.compile(r"^m-[0-9a-zA-Z]+$")
# The placeholder source mlflow (and labkeep.genai) give prompt versions, which have no artifacts.
PROMPT_SOURCE = "dummy-source"


@dataclass(frozen=True)
class ResolvedSource:
    storage_location: str
    run_id: str | None
    model_id: str | None


@dataclass(frozen=True)
class LoggedModelRef:
    model_id: str
    artifact_location: str
    source_run_id: str | None


@dataclass
class SourceLookups:
    """What source validation needs to know about runs, logged models and storage roots."""

    run_artifact_uri: Callable[[str], str | None]
    logged_model: Callable[[str], LoggedModelRef | None]
    logged_model_of_run: Callable[[str, str], LoggedModelRef | None]
    storage_roots: Callable[[], Sequence[str]]
    registered_version_uri: Callable[[str], str]


def check_no_traversal(uri: str) -> None:
    """Refuse control characters, backslashes and ``..`` segments (also percent-encoded)."""
    if any(ord(c) < 32 or c == "\x7f" for c in uri):
        raise InvalidParameterValue(
            f"Invalid model version source {uri!r}: control characters are not allowed."
        )
    decoded = uri
    for _ in range(3):  # double/triple encoding
        decoded = unquote(decoded)
    if "\\" in decoded or "\x00" in decoded or any(seg == ".." for seg in decoded.split("/")):
        raise InvalidParameterValue(
            f"Invalid model version source {uri!r}: path traversal ('..') is not allowed."
        )


def resolve_source(
    source: str, run_id: str | None, model_id: str | None, lookups: SourceLookups
) -> ResolvedSource:
    """Validate ``source`` against ``run_id``/``model_id``; return where its files are."""
    if not isinstance(source, str) or not source.strip():
        raise InvalidParameterValue("Missing value for required parameter 'source'.")
    if len(source) > MAX_SOURCE_LENGTH:
        raise InvalidParameterValue(
            f"Model version source is {len(source)} characters long; the limit is {MAX_SOURCE_LENGTH}."
        )
    if source == PROMPT_SOURCE:  # prompt versions (mlflow's register_prompt) carry no files
        return ResolvedSource(storage_location="", run_id=run_id, model_id=None)
    if _is_local(source):
        return _resolve_local_source(source, run_id, model_id, lookups)
    try:
        check_no_traversal(source)
    except InvalidParameterValue:
        raise InvalidParameterValue(_REMOTE_RELATIVE.format(source=source))
    if source == PROMPT_SOURCE:  # prompt versions (mlflow's register_prompt) carry no files
        return ResolvedSource(storage_location="", run_id=run_id, model_id=None)
    scheme = urlparse(source).scheme.lower()
    if scheme == "models":
        return _resolve_models_source(source, run_id, model_id, lookups)
    if scheme == "runs":
        return _resolve_runs_source(source, run_id, model_id, lookups)
    return _resolve_plain_source(source, run_id, model_id, lookups)


def _resolve_models_source(
    source: str, run_id: str | None, model_id: str | None, lookups: SourceLookups
) -> ResolvedSource:
    rest = source[len("models:") :].lstrip("/")
    if _LOGGED_MODEL_ID_RE.match(rest):
        if model_id and model_id != rest:
            raise InvalidParameterValue(
                f"Model version source {source!r} names logged model {rest!r}, which does not match "
                f"model_id {model_id!r}."
            )
        logged = lookups.logged_model(rest)
        if logged is None:
            raise ResourceDoesNotExist(f"Logged model with id={rest!r} not found.")
        return ResolvedSource(logged.artifact_location, run_id or logged.source_run_id, rest)
    # models:/<name>/<version|stage|latest> or models:/<name>@<alias>: copy of a registered version.
    return ResolvedSource(lookups.registered_version_uri(source), run_id, model_id)


def _resolve_runs_source(
    source: str, run_id: str | None, model_id: str | None, lookups: SourceLookups
) -> ResolvedSource:
    rest = source[len("runs:") :].lstrip("/")
    src_run, _, path = rest.partition("/")
    if not src_run:
        raise InvalidParameterValue(
            f"Invalid model version source {source!r}: expected runs:/<run_id>/<path>."
        )
    if run_id and run_id != src_run:
        raise InvalidParameterValue(
            f"Model version source {source!r} belongs to run {src_run!r}, not to run_id {run_id!r}."
        )
    path = path.strip("/")
    # MLflow 3 keeps models outside the run directory: runs:/<run>/<name> may name a logged model.
    if path:
        first, _, below = path.partition("/")
        logged = lookups.logged_model_of_run(src_run, first)
        if logged is not None and (model_id is None or model_id == logged.model_id):
            location = logged.artifact_location.rstrip("/") + ("/" + below if below else "")
            return ResolvedSource(location, src_run, model_id or logged.model_id)
    artifact_uri = lookups.run_artifact_uri(src_run)
    if artifact_uri is None:
        # as mlflow: the run need not exist; its files are looked up when someone downloads them
        return ResolvedSource(source, src_run, model_id)
    location = artifact_uri.rstrip("/") + ("/" + path if path else "")
    return ResolvedSource(location, src_run, model_id)


_LOCAL_HELP = (
    "To use a local path as a model version source, the run_id request parameter has to be specified"
    " and the local path has to be contained within the artifact directory of the run specified by the"
    " run_id (or of the logged model given as model_id)."
)
_REMOTE_RELATIVE = (
    "Invalid model version source {source!r}. If supplying a source as an http, https, local file path,"
    " ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path"
    " references present. Please provide an absolute path."
)


def _is_local(source: str) -> bool:
    scheme = urlparse(source).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and scheme.isalpha())


def _resolve_local_source(
    source: str, run_id: str | None, model_id: str | None, lookups: SourceLookups
) -> ResolvedSource:
    """A local path or file: URI: allowed only inside the run's or logged model's artifacts, after
    resolving ``.``/``..`` and links (so ``<artifact_uri>/model/..`` is the run's own root)."""
    if any(ord(c) < 32 or c == "\x7f" for c in source):
        raise InvalidParameterValue(f"Invalid model version source {source!r}: control characters are not allowed.")
    decoded = source
    for _ in range(3):
        decoded = unquote(decoded)
    if "\\" in decoded or (decoded != source and any(seg == ".." for seg in decoded.split("/"))):
        raise InvalidParameterValue(_REMOTE_RELATIVE.format(source=source))
    parsed = urlparse(source)
    if parsed.scheme.lower() == "file" and parsed.netloc not in ("", "localhost"):
        raise InvalidParameterValue(
            f"Invalid model version source {source!r}: {parsed.netloc!r} is not a valid remote uri;"
            " a file: URI names a path on this machine."
        )
    roots = []
    if run_id:
        uri = lookups.run_artifact_uri(run_id)
        if uri is not None:
            roots.append(uri)
    if model_id:
        logged = lookups.logged_model(model_id)
        if logged is not None:
            roots.append(logged.artifact_location)
    if not roots and not run_id and not model_id:
        # labkeep also takes a local path inside the server's artifact storage (its own clients
        # register such paths); mlflow refuses any local path without run_id
        roots = list(lookups.storage_roots())
    if not any(is_within(source, root) for root in roots):
        raise InvalidParameterValue(f"{_LOCAL_HELP} Got source {source!r}.")
    return ResolvedSource(source, run_id, model_id)


def _resolve_plain_source(
    source: str, run_id: str | None, model_id: str | None, lookups: SourceLookups
) -> ResolvedSource:
    roots: list[str] = []
    if run_id:
        artifact_uri = lookups.run_artifact_uri(run_id)
        if artifact_uri is None:
            raise ResourceDoesNotExist(f"Run with id={run_id!r} not found.")
        roots.append(artifact_uri)
    if model_id:
        logged = lookups.logged_model(model_id)
        if logged is None:
            raise ResourceDoesNotExist(f"Logged model with id={model_id!r} not found.")
        roots.append(logged.artifact_location)
    if run_id or model_id:
        # A source that names a run or model must lie inside that run's / model's artifacts, or at
        # least inside the server's artifact storage (nothing outside the store is ever read).
        # mlflow-artifacts: URIs always resolve into the server's own (confined) artifact store
        proxied = urlparse(source).scheme.lower() == "mlflow-artifacts"
        if not proxied and not any(is_within(source, root) for root in [*roots, *lookups.storage_roots()]):
            what = " or ".join(
                x
                for x in (
                    f"run {run_id!r}" if run_id else "",
                    f"logged model {model_id!r}" if model_id else "",
                )
                if x
            )
            raise InvalidParameterValue(
                f"Model version source {source!r} is not inside the artifacts of {what}; use "
                "runs:/<run_id>/<path> or models:/<model_id>."
            )
        return ResolvedSource(source, run_id, model_id)
    if not any(is_within(source, root) for root in lookups.storage_roots()):
        raise InvalidParameterValue(
            f"Model version source {source!r} is outside the configured artifact storage; register "
            "a run's or logged model's artifacts (runs:/<run_id>/<path> or models:/<model_id>)."
        )
    return ResolvedSource(source, run_id, model_id)


def _split(uri: str) -> tuple[str, str, str]:
    """(scheme, netloc, normalized path); local paths and file: URIs become ('file', '', realpath)."""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and scheme.isalpha()):
        path = unquote(parsed.path) if scheme == "file" else uri
        return "file", "", os.path.realpath(os.path.abspath(os.path.expanduser(path)))
    path = posixpath.normpath("/" + parsed.path.lstrip("/")) if parsed.path else "/"
    return scheme, parsed.netloc, path


def is_within(uri: str, root: str) -> bool:
    """True when ``uri`` is ``root`` or lies below it (same scheme and host, path prefix by segment)."""
    if not root:
        return False
    scheme, netloc, path = _split(uri)
    r_scheme, r_netloc, r_path = _split(root)
    if scheme != r_scheme:
        return False
    # mlflow-artifacts:/x and mlflow-artifacts://host:port/x name the same proxied storage.
    if netloc != r_netloc and not (scheme == "mlflow-artifacts" and (not netloc or not r_netloc)):
        return False
    return path == r_path or path.startswith(r_path.rstrip("/") + "/")
