"""The handler convention shared by every REST resource module.

A handler is a plain synchronous function::

    def get_registered_model(ctx: ApiContext, req: ApiRequest) -> dict:
        name = req.get_str("name", required=True)
        return {"registered_model": ctx.registry_store.get_registered_model(name).to_dict()}

The framework (``labkeep.server.api.dispatch``) runs it in a worker thread, serialises the returned
dict as JSON (a returned Starlette ``Response`` is sent as is), turns a ``LabkeepException`` into
``{"error_code", "message"}`` with the matching HTTP status and any other exception into a 500 JSON
body without a traceback (the traceback is logged server-side).

``ApiRequest`` reads request fields the way MLflow's wire protocol sends them: query parameters for
GET (a repeated key is a list), the JSON body otherwise (DELETE included). Typed getters raise
``InvalidParameterValue`` with a message naming the field when it is missing or of the wrong type.
"""

from __future__ import annotations

import json
import posixpath
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import unquote, urlparse

from labkeep.artifacts.paths import is_inside
from labkeep.exceptions import InvalidParameterValue

if TYPE_CHECKING:
    from labkeep.registry.store import RegistryStore
    from labkeep.server.auth.store import User
    from labkeep.stores.base import TrackingStore

_MISSING = object()
_API_DOCS_HINT = " See the API docs for more information about request parameters."


def invalid_value(name: str, value: Any, detail: str | None = None) -> InvalidParameterValue:
    """mlflow's wording for a parameter of the wrong type or shape (clients match on it)."""
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    hint = detail or f"Hint: Value was of type '{type(value).__name__}'."
    return InvalidParameterValue(f"Invalid value {shown} for parameter '{name}' supplied: {hint}{_API_DOCS_HINT}")


def missing_value(name: str) -> InvalidParameterValue:
    """mlflow's wording for a required parameter that is absent, null or empty."""
    return InvalidParameterValue(f"Missing value for required parameter '{name}'.{_API_DOCS_HINT}")


@dataclass
class ApiContext:
    """What a handler may use: the stores, the artifact storage and the server settings."""

    tracking_store: TrackingStore
    registry_store: RegistryStore | None = None
    # Where proxied artifact bytes live: a local directory or an ``s3://bucket/prefix`` URI.
    artifact_root: str = ""
    settings: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


class ApiRequest:
    """Typed access to one request's fields (query params for GET, JSON body otherwise)."""

    # The caller as auth identified it (None: anonymous on a public operation); set only when the
    # server runs with auth, so ``hasattr(req, "user")`` tells whether auth is on.
    user: User | None

    def __init__(
        self,
        method: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, list[str]] | None = None,
        path_params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.method = method.upper()
        self.body: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        self.query: Mapping[str, list[str]] = query or {}
        self.path_params: Mapping[str, str] = path_params or {}
        self.headers: Mapping[str, str] = headers or {}
        self.body_size = 0  # bytes of the request body, set by the dispatcher

    # ---- raw lookup
    def raw(self, name: str, default: Any = None) -> Any:
        """The field's raw value: path param, then JSON body, then (first) query value."""
        if name in self.path_params:
            return self.path_params[name]
        if name in self.body and self.body[name] is not None:
            return self.body[name]
        values = self.query.get(name)
        if values:
            return values[0]
        return default

    def has(self, name: str) -> bool:
        return self.raw(name, _MISSING) is not _MISSING

    def _get(self, name: str, required: bool, default: Any) -> Any:
        value = self.raw(name, _MISSING)
        if value is _MISSING:
            if required:
                raise missing_value(name)
            return default
        return value

    # ---- typed getters
    @overload
    def get_str(self, name: str, required: Literal[True], default: str | None = None) -> str: ...
    @overload
    def get_str(self, name: str, required: bool = False, *, default: str) -> str: ...
    @overload
    def get_str(self, name: str, required: bool = False, default: str | None = None) -> str | None: ...
    def get_str(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        value = self._get(name, required, default)
        if value is None:
            return None
        if not isinstance(value, str):
            # like protobuf's JSON parser: a string field takes only a JSON string
            raise invalid_value(name, value)
        if required and value == "":
            raise missing_value(name)
        return value

    def get_int(self, name: str, required: bool = False, default: int | None = None) -> int | None:
        value = self._get(name, required, default)
        if value is None or (value is default and not isinstance(value, str)):
            return value
        if isinstance(value, bool):
            raise invalid_value(name, value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,30}\s*", value):
            value = int(value)
        if isinstance(value, int):
            if not -(2**63) <= value <= 2**63 - 1:
                raise InvalidParameterValue(f"Parameter '{name}' is out of the 64-bit integer range.")
            return value
        raise invalid_value(name, value)

    def get_bool(self, name: str, required: bool = False, default: bool | None = None) -> bool | None:
        value = self._get(name, required, default)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid_value(name, value)

    def get_list(self, name: str, required: bool = False) -> list[Any]:
        """A repeated field: JSON list in the body, or every value of a repeated query key."""
        if name in self.body and self.body[name] is not None:
            value = self.body[name]
            if not isinstance(value, list):
                raise invalid_value(name, value)
        else:
            value = list(self.query.get(name, []))
        if required and not value:
            raise missing_value(name)
        return value

    def get_str_list(self, name: str, required: bool = False) -> list[str]:
        out = []
        for item in self.get_list(name, required):
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise invalid_value(name, self.get_list(name))
            out.append(str(item))
        return out

    def get_dicts(self, name: str, required: bool = False) -> list[dict[str, Any]]:
        """A repeated message field (e.g. ``tags``): a list of JSON objects."""
        items = self.get_list(name, required)
        for item in items:
            if not isinstance(item, dict):
                raise invalid_value(name, items)
        return items

    @overload
    def run_id(self, required: Literal[True] = True) -> str: ...
    @overload
    def run_id(self, required: bool) -> str | None: ...
    def run_id(self, required: bool = True) -> str | None:
        """``run_id`` or its legacy alias ``run_uuid`` (``run_id`` wins)."""
        value = self.get_str("run_id") or self.get_str("run_uuid")
        if required and not value:
            raise missing_value("run_id")
        return value


Handler = Callable[[ApiContext, ApiRequest], Any]

_side_store_lock = threading.Lock()


def side_store(ctx: ApiContext, key: str, build: Callable[[Any], Any], what: str) -> Any:
    """A store kept in ``ctx.extras[key]``, built once from the tracking store's database."""
    store = ctx.extras.get(key)
    if store is None:
        with _side_store_lock:
            store = ctx.extras.get(key)
            if store is None:
                db = getattr(ctx.tracking_store, "db", None)
                if db is None:
                    from labkeep.exceptions import LabkeepException

                    raise LabkeepException(f"This server's tracking store cannot hold {what}.", error_code="NOT_IMPLEMENTED")
                store = ctx.extras[key] = build(db)
    return store


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- path and URI safety


def check_uri_confined(uri: str, allowed_roots: list[str], what: str = "source") -> str:
    """Reject a URI that could reach outside the artifact storage.

    Remote schemes (``s3://``, ``mlflow-artifacts:``, ``models:``, ``runs:``, ``http(s)://``) are
    validated for traversal in their path; local paths and ``file://`` URIs must lie under one of
    ``allowed_roots`` (local directories). Returns the URI unchanged when it is acceptable.
    """
    if not isinstance(uri, str) or not uri:
        raise InvalidParameterValue(f"Missing value for required parameter '{what}'.")
    if "\x00" in uri or any(ord(c) < 32 for c in uri):
        raise InvalidParameterValue(f"Invalid {what} {uri!r}: control characters are not allowed.")
    decoded = uri
    for _ in range(3):  # catch double/triple encoded '..'
        decoded = unquote(decoded)
    if "\\" in decoded or any(seg == ".." for seg in re.split(r"[/\\]", decoded)):
        raise InvalidParameterValue(f"Invalid {what} {uri!r}: path traversal ('..') is not allowed.")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file") or re.match(r"^[A-Za-z]$", scheme):
        local = unquote(parsed.path) if scheme == "file" else uri
        local = posixpath.normpath(local)
        if not any(is_inside(local, root) for root in allowed_roots if root):
            raise InvalidParameterValue(
                f"Invalid {what} {uri!r}: local paths must lie inside the server's artifact root."
            )
    return uri
