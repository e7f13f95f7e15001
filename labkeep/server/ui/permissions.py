"""The one place the UI asks "may this request change that?".

Every state-changing UI action (registry edits, registering a logged model, run and experiment
edits) calls ``require_edit(request, resource)`` before it touches a store. Without authentication every
same-origin request may edit, so ``can_edit`` answers True; the authentication work replaces
its body (e.g. look up ``request.scope["user"]`` and the resource's permissions) and every
action follows. ``resource`` is a short tuple naming what is edited, for example
``("registered_model", name)``, ``("model_version", name, version)``, ``("run", run_id)`` or
``("experiment", experiment_id)``.
Pages also call ``can_edit`` to hide edit controls the viewer may not use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkeep.exceptions import LabkeepException


def can_edit(request: Any, resource: tuple[str, ...]) -> bool:
    """True when the request may change ``resource``.

    Without authentication every same-origin request may. With it, the signed-in user needs EDIT
    (update) on the experiment or registered model the resource belongs to; a name that is not an
    existing experiment/model is a creation, which every signed-in user may make.
    """
    auth = _auth_of(request)
    if auth is None:
        return True
    user = request.scope.get("user")
    if user is None:
        return False
    kind, key = resource[0], resource[1] if len(resource) > 1 else ""
    if kind in ("registered_model", "model_version"):
        return auth.can(user, "registered_model", key, "update")
    if kind == "run":
        exp_id = auth.experiment_of_run(key)
        return exp_id is None or auth.can(user, "experiment", exp_id, "update")
    if kind == "experiment":
        need = "delete" if "delete" in resource[2:] else "update"
        if key.isdigit():
            return auth.can(user, "experiment", key, need)
        exp_id = auth.experiment_by_name(key)
        return exp_id is None or auth.can(user, "experiment", exp_id, need)
    return bool(user.is_admin)


def created(request: Any, resource: tuple[str, str]) -> None:
    """The signed-in user created ``resource`` in the UI: they get MANAGE on it."""
    auth = _auth_of(request)
    user = request.scope.get("user") if auth is not None else None
    if user is not None:
        auth.grant_creator(user, resource[0], resource[1])


def _auth_of(request: Any) -> Any:
    app = request.scope.get("app")
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    return ctx.extras.get("auth") if ctx is not None else None


def require_edit(request: Any, resource: tuple[str, ...]) -> None:
    """Raise PERMISSION_DENIED (HTTP 403) unless ``can_edit`` allows the change."""
    if not can_edit(request, resource):
        raise LabkeepException(
            f"You may not change {resource[0].replace('_', ' ')} {'/'.join(resource[1:])}.",
            error_code="PERMISSION_DENIED",
        )


def readable(request: Any, kind: str, items: list[Any], key: Callable[[Any], str]) -> list[Any]:
    """The items of a list page the signed-in user may read (all of them without authentication)."""
    auth = _auth_of(request)
    user = request.scope.get("user") if auth is not None else None
    if auth is None or (user is not None and user.is_admin):
        return items
    return [item for item in items if auth.can(user, kind, key(item), "read")]
