"""Who is calling, and what may they do: credential checks and permission lookups, cached.

Password hashing runs only at login, at token creation and for the first request of a Basic
credential; afterwards a request costs dictionary lookups. Caches live per process and expire
after ``CACHE_TTL`` seconds, so a change made through another worker (or the CLI) is seen within
that time; a change made through this process clears them at once.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import threading
import time
from collections import OrderedDict
from typing import Any

from labkeep.exceptions import LabkeepException
from labkeep.server.auth import permissions as perms
from labkeep.server.auth.store import AuthStore, User

CACHE_TTL = 30.0
SESSION_COOKIE = "labkeep_session"
SESSION_DAYS = 7


class TtlCache:
    """A small bounded LRU map whose entries expire (thread-safe)."""

    def __init__(self, ttl: float, size: int = 10000) -> None:
        self.ttl = ttl
        self.size = size
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def unauthenticated(
    message: str = "Authentication required: send HTTP Basic credentials or a Bearer token.",
) -> LabkeepException:
    return LabkeepException(message, error_code="UNAUTHENTICATED")


def denied(message: str) -> LabkeepException:
    return LabkeepException(message, error_code="PERMISSION_DENIED")


class AuthService:
    """Authentication and authorization for one server process."""

    def __init__(self, store: AuthStore, tracking_store: Any, registry_store: Any, settings: Any) -> None:
        self.store = store
        self.tracking = tracking_store
        self.registry = registry_store
        self.default = perms.get(settings.auth_default_permission or "READ")
        self.trusted_header = (settings.auth_trusted_header or "").lower().encode("latin-1") or None
        self.trusted_proxies = [ipaddress.ip_network(p, strict=False) for p in settings.auth_trusted_proxies]
        self.creds = TtlCache(CACHE_TTL)
        self.grants = TtlCache(CACHE_TTL)
        self.parents = TtlCache(3600.0, 50000)  # run/model/trace -> experiment never changes

    # ------------------------------------------------------------------ authentication
    def authenticate(self, scope: dict) -> User | None:
        """The user of an ASGI request, or None (no or bad credentials)."""
        auth = cookie = trusted = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
            elif k == b"cookie":
                cookie = v
            elif self.trusted_header is not None and k == self.trusted_header:
                trusted = v
        if trusted is not None and self._from_trusted_proxy(scope):
            return self._trusted_user(trusted.decode("latin-1").strip())
        if auth is not None:
            return self._from_authorization(auth)
        if cookie is not None:
            secret = _cookie_value(cookie.decode("latin-1"), SESSION_COOKIE)
            if secret:
                return self.user_for_secret(secret, "session")
        return None

    def _from_trusted_proxy(self, scope: dict) -> bool:
        client = scope.get("client")
        if not client or not self.trusted_proxies:
            return False
        try:
            addr = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(addr in net for net in self.trusted_proxies)

    def _trusted_user(self, username: str) -> User | None:
        if not username:
            return None
        key = ("proxy", username)
        user = self.creds.get(key)
        if user is None:
            user = self.store.find_user(username)
            if user is None:  # first visit of an SSO user: an account without a usable password
                import secrets

                try:
                    user = self.store.create_user(username, secrets.token_urlsafe(24))
                except LabkeepException:
                    user = self.store.find_user(username)
            self.creds.put(key, user)
        return user

    def _from_authorization(self, header: bytes) -> User | None:
        scheme, _, value = header.decode("latin-1").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            key = ("basic", hashlib.sha256(value.encode("latin-1")).digest())
            user = self.creds.get(key)
            if user is not None:
                return user
            try:
                username, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            user = self.store.authenticate(username, password)
            if user is not None:
                self.creds.put(key, user)
            return user
        if scheme.lower() == "bearer" and value:
            return self.user_for_secret(value, "token")
        return None

    def user_for_secret(self, secret: str, kind: str) -> User | None:
        key = (kind, hashlib.sha256(secret.encode("utf-8")).digest())
        user = self.creds.get(key)
        if user is None:
            user = self.store.user_for_token(secret, kind)
            if user is not None:
                self.creds.put(key, user)
        return user

    def changed(self) -> None:
        """Users, tokens or grants changed: forget what this process cached."""
        self.creds.clear()
        self.grants.clear()

    # ------------------------------------------------------------------ authorization
    def permission(self, user: User, resource_type: str, resource_id: str) -> perms.Permission:
        if user.is_admin:
            return perms.MANAGE
        if resource_type == perms.PROMPT:
            resource_type = perms.REGISTERED_MODEL
        key = (user.id, resource_type, str(resource_id))
        found = self.grants.get(key)
        if found is None:
            names = self.store.grants_for(user.id, resource_type, str(resource_id))
            if resource_type == perms.REGISTERED_MODEL:
                names += self.store.grants_for(user.id, perms.PROMPT, str(resource_id))
            found = perms.fold(names, self.default)
            self.grants.put(key, found)
        return found

    def require(self, user: User, resource_type: str, resource_id: str, need: str) -> None:
        perm = self.permission(user, resource_type, resource_id)
        if not getattr(perm, perms.NEEDS[need]):
            what = resource_type.replace("_", " ")
            raise denied(
                f"Permission denied: user '{user.username}' may not {need} {what} {resource_id!r} "
                f"(has {perm.name}); ask its owner or an admin for a grant."
            )

    def can(self, user: User | None, resource_type: str, resource_id: str, need: str = "read") -> bool:
        if user is None:
            return False
        return bool(getattr(self.permission(user, resource_type, resource_id), perms.NEEDS[need]))

    def grant_creator(self, user: User, resource_type: str, resource_id: str) -> None:
        """The creator of a resource gets MANAGE on it."""
        if user.is_admin:
            return
        self.store.grant(user.username, resource_type, str(resource_id), "MANAGE")
        self.grants.clear()

    # ------------------------------------------------------------------ parents of sub-resources
    def _parent(self, kind: str, key: str, sql: str) -> str | None:
        cache_key = (kind, key)
        found = self.parents.get(cache_key)
        if found is None:
            with self.tracking.db.read() as cur:
                row = cur.execute(sql, (key,)).fetchone()
            if row is None:
                return None
            found = str(row[0])
            self.parents.put(cache_key, found)
        return found

    def experiment_of_run(self, run_id: str) -> str | None:
        return self._parent("run", run_id, "SELECT experiment_id FROM runs WHERE run_id = ?")

    def experiment_of_model(self, model_id: str) -> str | None:
        return self._parent("model", model_id, "SELECT experiment_id FROM logged_models WHERE model_id = ?")

    def experiment_of_trace(self, trace_id: str) -> str | None:
        return self._parent("trace", trace_id, "SELECT experiment_id FROM traces WHERE trace_id = ?")

    def experiment_of_issue(self, issue_id: str) -> str | None:
        return self._parent("issue", issue_id, "SELECT experiment_id FROM issues WHERE issue_id = ?")

    def experiments_of_dataset(self, dataset_id: str) -> list[str]:
        """The experiments an evaluation dataset belongs to (not cached: they change)."""
        with self.tracking.db.read() as cur:
            rows = cur.execute(
                "SELECT experiment_id FROM eval_dataset_experiments WHERE dataset_id = ?", (dataset_id,)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def experiment_by_name(self, name: str) -> str | None:
        with self.tracking.db.read() as cur:
            row = cur.execute("SELECT experiment_id FROM experiments WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None


def _cookie_value(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v.strip() or None
    return None
