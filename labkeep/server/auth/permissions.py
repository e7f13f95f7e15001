"""Permission levels and resource types, with the names mlflow's basic-auth app uses."""

from __future__ import annotations

from typing import NamedTuple

from labkeep.exceptions import InvalidParameterValue


class Permission(NamedTuple):
    name: str
    rank: int  # folding order: the highest grant wins, except DENY which wins over all
    can_read: bool
    can_use: bool
    can_update: bool
    can_delete: bool
    can_manage: bool


DENY = Permission("DENY", -1, False, False, False, False, False)
NO_PERMISSIONS = Permission("NO_PERMISSIONS", 0, False, False, False, False, False)
READ = Permission("READ", 1, True, False, False, False, False)
USE = Permission("USE", 2, True, True, False, False, False)
EDIT = Permission("EDIT", 3, True, True, True, False, False)
MANAGE = Permission("MANAGE", 4, True, True, True, True, True)

ALL = {p.name: p for p in (READ, USE, EDIT, MANAGE, NO_PERMISSIONS, DENY)}
GRANTABLE = ("READ", "USE", "EDIT", "MANAGE", "DENY", "NO_PERMISSIONS")

EXPERIMENT = "experiment"
REGISTERED_MODEL = "registered_model"
PROMPT = "prompt"
SCORER = "scorer"
WORKSPACE = "workspace"
# Types a grant can name. Prompts are registered models tagged as prompts: a prompt grant is
# checked on the registered-model name. Sub-resource types accept only the "*" pattern.
RESOURCE_TYPES = (EXPERIMENT, REGISTERED_MODEL, PROMPT, SCORER, WORKSPACE)
WILDCARD_ONLY_TYPES = (
    "run",
    "trace",
    "assessment",
    "logged_model",
    "registered_model_version",
    "prompt_version",
)
ALL_TYPES = RESOURCE_TYPES + WILDCARD_ONLY_TYPES

# What each action on a resource needs.
NEEDS = {"read": "can_read", "update": "can_update", "delete": "can_delete", "manage": "can_manage"}


def get(name: str) -> Permission:
    """The permission called ``name`` (400 with the valid names otherwise)."""
    perm = ALL.get(name if isinstance(name, str) else "")
    if perm is None:
        raise InvalidParameterValue(
            f"Invalid permission {name!r}. Valid permissions are: {', '.join(GRANTABLE)}."
        )
    return perm


def check_resource_type(resource_type: str) -> str:
    if resource_type not in ALL_TYPES:
        raise InvalidParameterValue(
            f"Invalid resource type {resource_type!r}. Valid resource types are: {', '.join(ALL_TYPES)}."
        )
    return resource_type


def check_pattern(resource_type: str, pattern: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise InvalidParameterValue("Missing value for required parameter 'resource_pattern'.")
    if pattern != "*" and resource_type in WILDCARD_ONLY_TYPES + (WORKSPACE,):
        raise InvalidParameterValue(f"Resource type {resource_type!r} accepts only the '*' pattern.")
    return pattern


def fold(names: list[str], default: Permission) -> Permission:
    """The effective permission of a set of matching grants: DENY wins, else the highest, else default."""
    if not names:
        return default
    perms = [ALL.get(n, NO_PERMISSIONS) for n in names]
    if any(p is DENY for p in perms):
        return DENY
    return max(perms, key=lambda p: p.rank)
