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

from typing import Any

from labkeep.exceptions import LabkeepException


def can_edit(request: Any, resource: tuple[str, ...]) -> bool:
    """True when the request may change ``resource`` (always, until authentication exists)."""
    return True


def require_edit(request: Any, resource: tuple[str, ...]) -> None:
    """Raise PERMISSION_DENIED (HTTP 403) unless ``can_edit`` allows the change."""
    if not can_edit(request, resource):
        raise LabkeepException(
            f"You may not change {resource[0].replace('_', ' ')} {'/'.join(resource[1:])}.",
            error_code="PERMISSION_DENIED",
        )
