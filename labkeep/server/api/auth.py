"""The auth REST API, wire-compatible with mlflow 3.17.2's basic-auth app, plus personal access tokens.

``mlflow.server.get_app_client("basic-auth", tracking_uri=...)`` manages users, per-user grants and
roles through these routes. Without ``--app-name basic-auth`` they answer 404 ENDPOINT_NOT_FOUND.
The route table's ``Access`` says who may call each one; handlers that let a user act on
themselves (get, change password, tokens) check "self or admin" here.
"""

from __future__ import annotations

import time
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.server.api.common import ApiContext, ApiRequest


def _svc(ctx: ApiContext) -> Any:
    svc = ctx.extras.get("auth")
    if svc is None:
        raise LabkeepException(
            "Authentication is not enabled on this server (start it with --app-name basic-auth).",
            error_code="ENDPOINT_NOT_FOUND",
        )
    return svc


def _me(req: ApiRequest) -> Any:
    return getattr(req, "user", None)


def _self_or_admin(req: ApiRequest, username: str) -> None:
    me = _me(req)
    if me is None or not (me.is_admin or me.username == username):
        from labkeep.server.auth.service import denied

        raise denied("Permission denied: only an admin or the user themselves may do this.")


def _role_id(req: ApiRequest, name: str = "role_id") -> int:
    value = req.get_int(name, required=True)
    assert value is not None
    return value


def _done(svc: Any) -> dict[str, Any]:
    svc.changed()
    return {}


# ---------------------------------------------------------------- users
def create_user(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    user = svc.store.create_user(req.get_str("username", required=True), req.get_str("password", required=True))
    return {"user": user.to_json()}


def get_user(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    username = req.get_str("username", required=True)
    _self_or_admin(req, username)
    return {"user": svc.store.get_user(username).to_json()}


def list_users(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    out = []
    for user in svc.store.list_users():
        roles = svc.store.user_roles(user.username)
        out.append({**user.to_json(), "roles": roles})
    return {"users": out}


def current_user(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    _svc(ctx)
    return {"user": _me(req).to_json(), "is_basic_auth": True}


def update_password(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    username = req.get_str("username", required=True)
    password = req.get_str("password", required=True)
    me = _me(req)
    _self_or_admin(req, username)
    if not me.is_admin or me.username == username:
        current = req.get_str("current_password")
        if not current or svc.store.authenticate(username, current) is None:
            raise LabkeepException(
                "Changing your own password needs 'current_password' (the password you use now).",
                error_code="PERMISSION_DENIED",
            )
    svc.store.update_password(username, password)
    return _done(svc)


def update_admin(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    is_admin = req.get_bool("is_admin", required=True)
    username = req.get_str("username", required=True)
    if not is_admin and username == _me(req).username:
        raise InvalidParameterValue("You cannot remove your own admin rights; ask another admin.")
    svc.store.update_admin(username, bool(is_admin))
    return _done(svc)


def delete_user(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    username = req.get_str("username", required=True)
    if username == _me(req).username:
        raise InvalidParameterValue("You cannot delete your own account; ask another admin.")
    svc.store.delete_user(username)
    return _done(svc)


# ---------------------------------------------------------------- per-user grants
def _resource(req: ApiRequest) -> tuple[str, str]:
    from labkeep.server.auth import permissions as perms

    rtype = perms.check_resource_type(req.get_str("resource_type", required=True) or "")
    rid = req.raw("resource_id")
    if rid is None or str(rid) == "":
        raise InvalidParameterValue("Missing value for required parameter 'resource_id'.")
    return rtype, str(rid)


def _may_manage(svc: Any, req: ApiRequest, rtype: str, rid: str) -> None:
    me = _me(req)
    if me.is_admin or rtype in ("workspace", "run", "trace", "assessment", "logged_model"):
        if not me.is_admin:
            from labkeep.server.auth.service import denied

            raise denied("Permission denied: only an admin may grant on this resource type.")
        return
    svc.require(me, rtype, rid, "manage")


def grant_permission(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    rtype, rid = _resource(req)
    _may_manage(svc, req, rtype, rid)
    svc.store.grant(req.get_str("username", required=True), rtype, rid, req.get_str("permission", required=True))
    return _done(svc)


def revoke_permission(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    rtype, rid = _resource(req)
    _may_manage(svc, req, rtype, rid)
    svc.store.revoke(req.get_str("username", required=True), rtype, rid)
    return _done(svc)


def get_permission(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    username = req.get_str("username", required=True)
    rtype, rid = _resource(req)
    me = _me(req)
    if not (me.is_admin or me.username == username):
        _may_manage(svc, req, rtype, rid)
    user = svc.store.get_user(username)
    perm = svc.permission(user, rtype, rid)
    return {"allowed": perm.can_use, "permission": perm.name}


def list_permissions(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    username = req.get_str("username", required=True)
    _self_or_admin(req, username)
    user = svc.store.get_user(username)
    return {"is_admin": user.is_admin, "permissions": svc.store.user_permission_rows(user)}


def current_permissions(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    me = _me(req)
    return {"is_admin": me.is_admin, "permissions": svc.store.user_permission_rows(me)}


# ---------------------------------------------------------------- roles (admin only)
def create_role(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    role = svc.store.create_role(
        req.get_str("workspace") or "default", req.get_str("name", required=True), req.get_str("description")
    )
    return {"role": role}


def get_role(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"role": _svc(ctx).store.role_json(_role_id(req))}


def list_roles(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"roles": _svc(ctx).store.list_roles(req.get_str("workspace"))}


def update_role(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    return {"role": svc.store.update_role(_role_id(req), req.get_str("name"), req.get_str("description"))}


def delete_role(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    svc.store.delete_role(_role_id(req))
    return _done(svc)


def add_role_permission(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    rp = svc.store.set_role_permission(
        _role_id(req),
        req.get_str("resource_type", required=True),
        req.get_str("resource_pattern", required=True),
        req.get_str("permission", required=True),
    )
    svc.changed()
    return {"role_permission": rp}


def remove_role_permission(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    svc.store.remove_role_permission(_role_id(req, "role_permission_id"))
    return _done(svc)


def list_role_permissions(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"role_permissions": _svc(ctx).store.list_role_permissions(_role_id(req))}


def update_role_permission(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    rp = svc.store.update_role_permission(
        _role_id(req, "role_permission_id"), req.get_str("permission", required=True)
    )
    svc.changed()
    return {"role_permission": rp}


def assign_role(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    assignment = svc.store.assign_role(req.get_str("username", required=True), _role_id(req))
    svc.changed()
    return {"assignment": assignment}


def unassign_role(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    svc.store.unassign_role(req.get_str("username", required=True), _role_id(req))
    return _done(svc)


def list_user_roles(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    username = req.get_str("username", required=True)
    _self_or_admin(req, username)
    roles = [r for r in svc.store.user_roles(username) if not r["name"].startswith("__user_")]
    return {"roles": roles}


def list_role_users(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"assignments": _svc(ctx).store.role_users(_role_id(req))}


# ---------------------------------------------------------------- personal access tokens
MAX_TOKEN_DAYS = 3650


def _token_owner(svc: Any, req: ApiRequest) -> Any:
    username = req.get_str("username") or _me(req).username
    _self_or_admin(req, username)
    return svc.store.get_user(username)


def create_token(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    owner = _token_owner(svc, req)
    days = req.get_int("expires_in_days")
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidParameterValue(f"expires_in_days must be between 1 and {MAX_TOKEN_DAYS}.")
    expires = int(time.time() * 1000) + days * 86_400_000 if days else None
    secret, info = svc.store.create_token(owner, req.get_str("name", required=True), expires_at=expires)
    return {"token": secret, "token_info": info}


def list_tokens(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    return {"tokens": svc.store.list_tokens(_token_owner(svc, req))}


def revoke_token(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    svc = _svc(ctx)
    svc.store.revoke_token(_token_owner(svc, req), req.get_str("token_id", required=True))
    return _done(svc)
