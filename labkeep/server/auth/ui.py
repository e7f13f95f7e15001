"""Browser sign-in: the login page, the session cookie, sign-out and the personal-token page.

A session is a random secret in an HttpOnly, SameSite=Lax cookie (Secure when the request came
over https, directly or per ``X-Forwarded-Proto``); the database keeps only its SHA-256, like a
personal access token, and it expires after ``SESSION_DAYS``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from labkeep.exceptions import LabkeepException
from labkeep.server.api.common import ApiRequest
from labkeep.server.auth.service import SESSION_COOKIE, SESSION_DAYS, denied, unauthenticated


def _auth(ui: Any) -> Any:
    auth = ui.ctx.extras.get("auth")
    if auth is None:
        raise LabkeepException(
            "Sign-in is not enabled on this server (start it with --app-name basic-auth).",
            error_code="ENDPOINT_NOT_FOUND",
        )
    return auth


def _wants_json(request: Request) -> bool:
    from labkeep.server.ui.common import wants_json

    return (
        bool(request.scope.get("labkeep_json_errors"))
        or wants_json(request)
        or request.url.path.endswith(".json")
    )


async def authorize_page(ui: Any, auth: Any, access: Any, request: Request) -> Response | None:
    """Authenticate and check a page request; None when it may go on, else the answer to send."""

    def check() -> Any:
        if access is None:
            raise denied("This page declares no permission check; it is refused while auth is on.")
        if access.kind == "public":
            return auth.authenticate(request.scope)  # the login page shows who is signed in
        user = auth.authenticate(request.scope)
        if user is None:
            raise unauthenticated("Sign in to see this page.")
        req = ApiRequest(
            "GET",
            query=parse_qs(request.url.query, keep_blank_values=True),
            path_params=request.path_params,
            headers=dict(request.headers),
        )
        req.user = user
        access.check(auth, user, req)
        return user

    try:
        request.scope["user"] = await anyio.to_thread.run_sync(check)
    except LabkeepException as exc:
        if exc.error_code == "UNAUTHENTICATED" and not _wants_json(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(ui.url("/login", next=target), status_code=303)
        if _wants_json(request):
            request.scope["labkeep_json_errors"] = True
        return ui.error(request, exc)
    return None


def _safe_next(value: str | None, ui: Any) -> str:
    """Only a path of this server (never ``//host`` or a full URL) is followed after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ui.url("/")


def login_page(ui: Any, request: Request) -> Response:
    _auth(ui)
    return ui.render(
        "login.html",
        {
            "next": _safe_next(request.query_params.get("next"), ui),
            "error": None,
            "current_user": request.scope.get("user"),
        },
    )


async def login_submit(ui: Any, request: Request) -> Response:
    from labkeep.server.ui.common import read_form

    auth = _auth(ui)
    form = await read_form(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "")), ui)
    user = await anyio.to_thread.run_sync(auth.store.authenticate, username, password) if password else None
    if user is None:
        data = {"next": nxt, "error": "Wrong user name or password.", "current_user": None}
        return ui.render("login.html", data, status=401)
    expires = int(time.time() * 1000) + SESSION_DAYS * 86_400_000
    secret, _ = await anyio.to_thread.run_sync(
        lambda: auth.store.create_token(user, "session", "session", expires)
    )
    resp = RedirectResponse(nxt, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=SESSION_DAYS * 86400,
        path=ui.prefix or "/",
        httponly=True,
        samesite="lax",
        secure=_https(request),
    )
    return resp


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def logout(ui: Any, request: Request) -> Response:
    auth = _auth(ui)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        await anyio.to_thread.run_sync(auth.store.delete_session, secret)
        auth.changed()
    resp = RedirectResponse(ui.url("/login"), status_code=303)
    resp.delete_cookie(
        SESSION_COOKIE, path=ui.prefix or "/", httponly=True, samesite="lax", secure=_https(request)
    )
    return resp


def account_page(ui: Any, request: Request, new_token: str | None = None) -> Response:
    auth = _auth(ui)
    user = request.scope["user"]
    data = {
        "current_user": user,
        "tokens": auth.store.list_tokens(user),
        "new_token": new_token,
        "fmt_expiry": lambda ms: time.strftime("%Y-%m-%d", time.gmtime(ms / 1000)) if ms else "never",
    }
    return ui.page(
        request, "account.html", data, json_data={"user": user.to_json(), "tokens": data["tokens"]}
    )


async def token_action(ui: Any, request: Request) -> Response:
    """POST /account/tokens: ``action=create`` (name, expires_in_days) or ``action=revoke`` (token_id)."""
    from labkeep.exceptions import InvalidParameterValue
    from labkeep.server.ui.common import read_form

    auth = _auth(ui)
    form = await read_form(request)
    user = request.scope["user"]
    action = form.get("action")

    def do() -> Response:
        if action == "create":
            days_raw = str(form.get("expires_in_days", "") or "").strip()
            if days_raw and not days_raw.isdigit():
                raise InvalidParameterValue("Expiry must be a whole number of days.")
            days = int(days_raw) if days_raw else None
            if days is not None and not 1 <= days <= 3650:
                raise InvalidParameterValue("Expiry must be between 1 and 3650 days.")
            expires = int(time.time() * 1000) + days * 86_400_000 if days else None
            secret, _ = auth.store.create_token(user, str(form.get("name", "")), expires_at=expires)
            return account_page(ui, request, new_token=secret)
        if action == "revoke":
            auth.store.revoke_token(user, str(form.get("token_id", "")))
            auth.changed()
            return ui.redirect("/account")
        raise InvalidParameterValue(f"Unknown action {quote(str(action))!r}.")

    return await anyio.to_thread.run_sync(do)


def users_page(ui: Any, request: Request) -> Response:
    """GET /admin/users: every user with their direct grants (admins only, by the route's rule)."""
    auth = _auth(ui)
    rows = []
    for user in auth.store.list_users():
        grants = [g for g in auth.store.user_permission_rows(user) if g["role_name"].startswith("__user_")]
        rows.append({**user.to_json(), "grants": grants})
    return ui.page(request, "users.html", {"users": rows}, json_data={"users": rows})


async def users_action(ui: Any, request: Request) -> Response:
    """POST /admin/users: ``action`` = create | delete | set_admin | grant | revoke (form fields)."""
    from labkeep.exceptions import InvalidParameterValue
    from labkeep.server.ui.common import read_form

    auth = _auth(ui)
    form = {k: str(v) for k, v in (await read_form(request)).items()}
    me = request.scope["user"]
    action, username = form.get("action", ""), form.get("username", "")

    def do() -> Response:
        store = auth.store
        if action == "create":
            store.create_user(username, form.get("password", ""), is_admin=form.get("is_admin") == "on")
        elif action == "delete":
            if username == me.username:
                raise InvalidParameterValue("You cannot delete your own account; ask another admin.")
            store.delete_user(username)
        elif action == "set_admin":
            if username == me.username and form.get("value") != "true":
                raise InvalidParameterValue("You cannot remove your own admin rights; ask another admin.")
            store.update_admin(username, form.get("value") == "true")
        elif action == "grant":
            store.grant(
                username,
                form.get("resource_type", ""),
                form.get("resource_id", ""),
                form.get("permission", ""),
            )
        elif action == "revoke":
            store.revoke(username, form.get("resource_type", ""), form.get("resource_id", ""))
        else:
            raise InvalidParameterValue(f"Unknown action {quote(action)!r}.")
        auth.changed()
        return ui.redirect("/admin/users")

    return await anyio.to_thread.run_sync(do)
