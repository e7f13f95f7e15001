"""``labkeep users``: manage the team server's users, grants and personal access tokens.

The commands work on the server's database directly (run them where the server runs, or
anywhere that reaches its database); a running server sees the change within 30 seconds
(its per-process cache), or at once for changes made through its REST API.
"""

from __future__ import annotations

import time
from typing import Any

import click

from labkeep.cli.output import format_ms, print_table, to_json

store_option = click.option(
    "--backend-store-uri",
    envvar=["LABKEEP_BACKEND_STORE_URI"],
    default=None,
    help="The server's database (default: ./labkeep.db, as `labkeep server`).",
)
password_option = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="LABKEEP_USER_PASSWORD",
    help="The password (prompted when not given; or set LABKEEP_USER_PASSWORD).",
)


def _store(uri: str | None) -> Any:
    import os

    from labkeep.config import DEFAULT_DB_FILE, normalize_store_uri
    from labkeep.server.auth.store import AuthStore
    from labkeep.stores.sql.db import open_database
    from labkeep.stores.sql.migrate import ensure_schema

    uri = normalize_store_uri(uri or f"sqlite:///{os.path.abspath(DEFAULT_DB_FILE)}")
    db = open_database(uri)
    ensure_schema(db)
    return AuthStore(db)


@click.group()
def users() -> None:
    """Users, permissions and tokens of `labkeep server --app-name basic-auth`."""


@users.command("create")
@click.argument("username")
@password_option
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@store_option
def create(username: str, password: str, admin: bool, backend_store_uri: str | None) -> None:
    """Create USERNAME."""
    user = _store(backend_store_uri).create_user(username, password, is_admin=admin)
    click.echo(f"Created user {user.username} (id {user.id}{', admin' if admin else ''}).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@store_option
def list_(as_json: bool, backend_store_uri: str | None) -> None:
    """List users."""
    rows = _store(backend_store_uri).list_users()
    if as_json:
        click.echo(to_json([u.to_json() for u in rows]))
        return
    print_table(["id", "username", "admin"], [(u.id, u.username, "yes" if u.is_admin else "") for u in rows])


@users.command("delete")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_option
def delete(username: str, yes: bool, backend_store_uri: str | None) -> None:
    """Delete USERNAME, with their tokens, sessions and direct grants."""
    store = _store(backend_store_uri)
    store.get_user(username)
    if not yes:
        click.confirm(f"Delete user {username}?", abort=True)
    store.delete_user(username)
    click.echo(f"Deleted user {username}.")


@users.command("set-admin")
@click.argument("username")
@click.argument("value", type=click.Choice(["true", "false"]))
@store_option
def set_admin(username: str, value: str, backend_store_uri: str | None) -> None:
    """Make USERNAME an admin (true) or not (false)."""
    _store(backend_store_uri).update_admin(username, value == "true")
    click.echo(f"{username} is {'now' if value == 'true' else 'no longer'} an admin.")


@users.command("set-password")
@click.argument("username")
@password_option
@store_option
def set_password(username: str, password: str, backend_store_uri: str | None) -> None:
    """Set USERNAME's password (ends their browser sessions)."""
    _store(backend_store_uri).update_password(username, password)
    click.echo(f"Password of {username} changed.")


RESOURCE_TYPES = ["experiment", "registered_model", "prompt", "scorer"]


@users.command("grant")
@click.argument("username")
@click.argument("resource_type", type=click.Choice(RESOURCE_TYPES))
@click.argument("resource_id")
@click.argument("permission", type=click.Choice(["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"]))
@store_option
def grant(
    username: str, resource_type: str, resource_id: str, permission: str, backend_store_uri: str | None
) -> None:
    """Give USERNAME PERMISSION on a resource (experiment id, or registered model / prompt name; '*' for all)."""
    _store(backend_store_uri).grant(username, resource_type, resource_id, permission)
    click.echo(f"{username}: {permission} on {resource_type} {resource_id}.")


@users.command("revoke")
@click.argument("username")
@click.argument("resource_type", type=click.Choice(RESOURCE_TYPES))
@click.argument("resource_id")
@store_option
def revoke(username: str, resource_type: str, resource_id: str, backend_store_uri: str | None) -> None:
    """Remove USERNAME's direct grant on a resource (the default permission applies again)."""
    _store(backend_store_uri).revoke(username, resource_type, resource_id)
    click.echo(f"Revoked {username}'s permission on {resource_type} {resource_id}.")


@users.group("token")
def token() -> None:
    """Personal access tokens (use one as MLFLOW_TRACKING_TOKEN)."""


@token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. 'ci'.")
@click.option(
    "--expires-in-days", type=click.IntRange(1, 3650), default=None, help="Expiry (default: never)."
)
@store_option
def token_create(
    username: str, name: str, expires_in_days: int | None, backend_store_uri: str | None
) -> None:
    """Create a token for USERNAME and print it (only once: just its hash is stored)."""
    store = _store(backend_store_uri)
    expires = int(time.time() * 1000) + expires_in_days * 86_400_000 if expires_in_days else None
    secret, info = store.create_token(store.get_user(username), name, expires_at=expires)
    click.echo(
        f"Token {info['token_id']} ({name}) for {username}; expires {format_ms(expires) or 'never'}.",
        err=True,
    )
    click.echo(secret)


@token.command("list")
@click.argument("username")
@store_option
def token_list(username: str, backend_store_uri: str | None) -> None:
    """List USERNAME's tokens (ids and names; secrets are never stored)."""
    store = _store(backend_store_uri)
    rows = store.list_tokens(store.get_user(username))
    print_table(
        ["token_id", "name", "created", "expires"],
        [
            (t["token_id"], t["name"], format_ms(t["created_at"]), format_ms(t["expires_at"]) or "never")
            for t in rows
        ],
    )


@token.command("revoke")
@click.argument("username")
@click.argument("token_id")
@store_option
def token_revoke(username: str, token_id: str, backend_store_uri: str | None) -> None:
    """Revoke USERNAME's token TOKEN_ID."""
    store = _store(backend_store_uri)
    store.revoke_token(store.get_user(username), token_id)
    click.echo(f"Revoked token {token_id}.")
