"""The auth tables (migration ``0003_auth``): users, tokens and sessions, roles and their grants.

A direct grant to a user is a permission on the user's own role ``__user_<id>__`` (as mlflow 3
keeps them), so one lookup path answers "what may this user do on that resource".
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from labkeep.server.auth import permissions as perms
from labkeep.server.auth.secrets import hash_password, token_hash, verify_password

DEFAULT_WORKSPACE = "default"
MAX_NAME = 255


@dataclass(frozen=True)
class User:
    id: int
    username: str
    is_admin: bool
    password_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "is_admin": self.is_admin}


def personal_role_name(user_id: int) -> str:
    return f"__user_{user_id}__"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterValue(f"Missing value for required parameter '{what}'.")
    if len(value) > MAX_NAME or any(ord(c) < 32 for c in value):
        raise InvalidParameterValue(f"Invalid {what}: at most {MAX_NAME} printable characters.")
    return value


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY[0]


def check_password(password: Any) -> str:
    if not isinstance(password, str) or not password:
        raise InvalidParameterValue("Username and password cannot be empty.")
    if len(password) > 1024:
        raise InvalidParameterValue("The password is too long (at most 1024 characters).")
    return password


class AuthStore:
    """CRUD on the auth tables of one database (the tracking store's ``Database``)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    # ------------------------------------------------------------------ users
    def create_user(self, username: str, password: str, is_admin: bool = False) -> User:
        username = _check_name(username, "username")
        hashed = hash_password(check_password(password))
        if self.find_user(username) is not None:
            raise ResourceAlreadyExists(f"User '{username}' already exists.")
        try:
            with self.db.write() as cur:
                cur.execute(
                    "INSERT INTO auth_users (username, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?)",
                    (username, hashed, bool(is_admin), _now_ms()),
                )
        except Exception as exc:
            if self.find_user(username) is not None:  # lost a race with another creator
                raise ResourceAlreadyExists(f"User '{username}' already exists.") from None
            raise exc
        return self.get_user(username)

    def _user_where(self, column: str, value: Any) -> User | None:
        with self.db.read() as cur:
            row = cur.execute(
                f"SELECT id, username, is_admin, password_hash FROM auth_users WHERE {column} = ?", (value,)
            ).fetchone()
        return User(int(row[0]), row[1], bool(row[2]), row[3]) if row else None

    def find_user(self, username: str) -> User | None:
        return self._user_where("username", username)

    def get_user(self, username: str) -> User:
        user = self.find_user(username) if isinstance(username, str) else None
        if user is None:
            raise ResourceDoesNotExist(f"User with username={username} not found")
        return user

    def user_by_id(self, user_id: int) -> User | None:
        return self._user_where("id", user_id)

    def list_users(self) -> list[User]:
        with self.db.read() as cur:
            rows = cur.execute("SELECT id, username, is_admin FROM auth_users ORDER BY username").fetchall()
        return [User(int(r[0]), r[1], bool(r[2])) for r in rows]

    def count_users(self) -> int:
        with self.db.read() as cur:
            return int(cur.execute("SELECT COUNT(*) FROM auth_users").fetchone()[0])

    def authenticate(self, username: str, password: str) -> User | None:
        user = self.find_user(username)
        if user is None:
            verify_password(
                _dummy_hash(), password
            )  # same cost as a real check: no user enumeration by timing
            return None
        return user if verify_password(user.password_hash, password) else None

    def update_password(self, username: str, password: str) -> None:
        user = self.get_user(username)
        hashed = hash_password(check_password(password))
        with self.db.write() as cur:
            cur.execute("UPDATE auth_users SET password_hash = ? WHERE id = ?", (hashed, user.id))
            # A new password ends every browser session of the user (tokens stay: they are separate secrets).
            cur.execute("DELETE FROM auth_tokens WHERE user_id = ? AND kind = 'session'", (user.id,))

    def update_admin(self, username: str, is_admin: bool) -> None:
        user = self.get_user(username)
        with self.db.write() as cur:
            cur.execute("UPDATE auth_users SET is_admin = ? WHERE id = ?", (bool(is_admin), user.id))

    def delete_user(self, username: str) -> None:
        user = self.get_user(username)
        role = self._find_role(DEFAULT_WORKSPACE, personal_role_name(user.id))
        with self.db.write() as cur:
            cur.execute("DELETE FROM auth_tokens WHERE user_id = ?", (user.id,))
            cur.execute("DELETE FROM auth_user_roles WHERE user_id = ?", (user.id,))
            if role is not None:
                cur.execute("DELETE FROM auth_role_permissions WHERE role_id = ?", (role["id"],))
                cur.execute("DELETE FROM auth_roles WHERE id = ?", (role["id"],))
            cur.execute("DELETE FROM auth_users WHERE id = ?", (user.id,))

    # ------------------------------------------------------------------ tokens and sessions
    def create_token(
        self, user: User, name: str, kind: str = "token", expires_at: int | None = None
    ) -> tuple[str, dict]:
        """Store a new token's hash; return ``(secret, info)`` — the secret is shown only once."""
        from labkeep.server.auth.secrets import new_token

        name = _check_name(name, "name") if kind == "token" else "session"
        secret = new_token()
        token_id = secrets.token_hex(8)
        with self.db.write() as cur:
            cur.execute(
                "INSERT INTO auth_tokens (token_id, user_id, kind, name, token_hash, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, user.id, kind, name, token_hash(secret), _now_ms(), expires_at),
            )
        return secret, {"token_id": token_id, "name": name, "created_at": _now_ms(), "expires_at": expires_at}

    def user_for_token(self, secret: str, kind: str = "token") -> User | None:
        """The user a valid, unexpired token of ``kind`` belongs to."""
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT u.id, u.username, u.is_admin, t.expires_at FROM auth_tokens t "
                "JOIN auth_users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.kind = ?",
                (token_hash(secret), kind),
            ).fetchone()
        if row is None or (row[3] is not None and int(row[3]) <= _now_ms()):
            return None
        return User(int(row[0]), row[1], bool(row[2]))

    def list_tokens(self, user: User) -> list[dict[str, Any]]:
        with self.db.read() as cur:
            rows = cur.execute(
                "SELECT token_id, name, created_at, expires_at FROM auth_tokens "
                "WHERE user_id = ? AND kind = 'token' ORDER BY created_at",
                (user.id,),
            ).fetchall()
        return [{"token_id": r[0], "name": r[1], "created_at": r[2], "expires_at": r[3]} for r in rows]

    def revoke_token(self, user: User, token_id: str) -> None:
        with self.db.write() as cur:
            cur.execute(
                "DELETE FROM auth_tokens WHERE token_id = ? AND user_id = ? AND kind = 'token'",
                (token_id, user.id),
            )
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No token {token_id!r} of user '{user.username}'.")

    def delete_session(self, secret: str) -> None:
        with self.db.write() as cur:
            cur.execute(
                "DELETE FROM auth_tokens WHERE token_hash = ? AND kind = 'session'", (token_hash(secret),)
            )

    # ------------------------------------------------------------------ roles
    def _find_role(self, workspace: str, name: str) -> dict[str, Any] | None:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT id, name, workspace, description FROM auth_roles WHERE workspace = ? AND name = ?",
                (workspace, name),
            ).fetchone()
        return self._role_row(row) if row else None

    @staticmethod
    def _role_row(row: tuple) -> dict[str, Any]:
        return {"id": int(row[0]), "name": row[1], "workspace": row[2], "description": row[3]}

    def create_role(self, workspace: str, name: str, description: str | None = None) -> dict[str, Any]:
        workspace = _check_name(workspace or DEFAULT_WORKSPACE, "workspace")
        name = _check_name(name, "name")
        if self._find_role(workspace, name) is not None:
            raise ResourceAlreadyExists(f"Role '{name}' already exists in workspace '{workspace}'.")
        with self.db.write() as cur:
            cur.execute(
                "INSERT INTO auth_roles (workspace, name, description) VALUES (?, ?, ?)",
                (workspace, name, description),
            )
        return self.role_json(self._find_role(workspace, name)["id"])  # type: ignore[index]

    def get_role(self, role_id: int) -> dict[str, Any]:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT id, name, workspace, description FROM auth_roles WHERE id = ?", (role_id,)
            ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Role with id={role_id} not found")
        return self._role_row(row)

    def role_json(self, role_id: int) -> dict[str, Any]:
        role = self.get_role(role_id)
        role["permissions"] = self.list_role_permissions(role_id)
        return role

    def list_roles(
        self, workspace: str | None = None, include_personal: bool = False
    ) -> list[dict[str, Any]]:
        sql = "SELECT id, name, workspace, description FROM auth_roles"
        args: tuple = ()
        if workspace:
            sql += " WHERE workspace = ?"
            args = (workspace,)
        with self.db.read() as cur:
            rows = cur.execute(sql + " ORDER BY id", args).fetchall()
        roles = [self._role_row(r) for r in rows]
        if not include_personal:
            roles = [r for r in roles if not (r["name"].startswith("__user_") and r["name"].endswith("__"))]
        for role in roles:
            role["permissions"] = self.list_role_permissions(role["id"])
        return roles

    def update_role(self, role_id: int, name: str | None, description: str | None) -> dict[str, Any]:
        role = self.get_role(role_id)
        if name is not None:
            name = _check_name(name, "name")
            other = self._find_role(role["workspace"], name)
            if other is not None and other["id"] != role_id:
                raise ResourceAlreadyExists(
                    f"Role '{name}' already exists in workspace '{role['workspace']}'."
                )
        with self.db.write() as cur:
            cur.execute(
                "UPDATE auth_roles SET name = ?, description = ? WHERE id = ?",
                (
                    name if name is not None else role["name"],
                    description if description is not None else role["description"],
                    role_id,
                ),
            )
        return self.role_json(role_id)

    def delete_role(self, role_id: int) -> None:
        self.get_role(role_id)
        with self.db.write() as cur:
            cur.execute("DELETE FROM auth_role_permissions WHERE role_id = ?", (role_id,))
            cur.execute("DELETE FROM auth_user_roles WHERE role_id = ?", (role_id,))
            cur.execute("DELETE FROM auth_roles WHERE id = ?", (role_id,))

    # ------------------------------------------------------------------ role permissions
    def _perm_row(self, row: tuple) -> dict[str, Any]:
        return {
            "id": int(row[0]),
            "role_id": int(row[1]),
            "resource_type": row[2],
            "resource_pattern": row[3],
            "permission": row[4],
        }

    def list_role_permissions(self, role_id: int) -> list[dict[str, Any]]:
        with self.db.read() as cur:
            rows = cur.execute(
                "SELECT id, role_id, resource_type, resource_pattern, permission FROM auth_role_permissions "
                "WHERE role_id = ? ORDER BY id",
                (role_id,),
            ).fetchall()
        return [self._perm_row(r) for r in rows]

    def get_role_permission(self, rp_id: int) -> dict[str, Any]:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT id, role_id, resource_type, resource_pattern, permission FROM auth_role_permissions WHERE id = ?",
                (rp_id,),
            ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Role permission with id={rp_id} not found")
        return self._perm_row(row)

    def set_role_permission(
        self, role_id: int, resource_type: str, pattern: str, permission: str
    ) -> dict[str, Any]:
        """Add (or overwrite) the grant of ``permission`` on ``resource_type``/``pattern`` to a role."""
        self.get_role(role_id)
        perms.check_resource_type(resource_type)
        perms.check_pattern(resource_type, pattern)
        perms.get(permission)
        with self.db.write() as cur:
            cur.execute(
                "DELETE FROM auth_role_permissions WHERE role_id = ? AND resource_type = ? AND resource_pattern = ?",
                (role_id, resource_type, pattern),
            )
            cur.execute(
                "INSERT INTO auth_role_permissions (role_id, resource_type, resource_pattern, permission) "
                "VALUES (?, ?, ?, ?)",
                (role_id, resource_type, pattern, permission),
            )
            row = cur.execute(
                "SELECT id, role_id, resource_type, resource_pattern, permission FROM auth_role_permissions "
                "WHERE role_id = ? AND resource_type = ? AND resource_pattern = ?",
                (role_id, resource_type, pattern),
            ).fetchone()
        return self._perm_row(row)

    def update_role_permission(self, rp_id: int, permission: str) -> dict[str, Any]:
        perms.get(permission)
        self.get_role_permission(rp_id)
        with self.db.write() as cur:
            cur.execute("UPDATE auth_role_permissions SET permission = ? WHERE id = ?", (permission, rp_id))
        return self.get_role_permission(rp_id)

    def remove_role_permission(self, rp_id: int) -> None:
        self.get_role_permission(rp_id)
        with self.db.write() as cur:
            cur.execute("DELETE FROM auth_role_permissions WHERE id = ?", (rp_id,))

    # ------------------------------------------------------------------ assignments
    def assign_role(self, username: str, role_id: int) -> dict[str, Any]:
        user = self.get_user(username)
        self.get_role(role_id)
        with self.db.write() as cur:
            exists = cur.execute(
                "SELECT id FROM auth_user_roles WHERE user_id = ? AND role_id = ?", (user.id, role_id)
            ).fetchone()
            if exists is None:
                cur.execute(
                    "INSERT INTO auth_user_roles (user_id, role_id) VALUES (?, ?)", (user.id, role_id)
                )
            row = cur.execute(
                "SELECT id FROM auth_user_roles WHERE user_id = ? AND role_id = ?", (user.id, role_id)
            ).fetchone()
        return {"id": int(row[0]), "user_id": user.id, "role_id": role_id}

    def unassign_role(self, username: str, role_id: int) -> None:
        user = self.get_user(username)
        with self.db.write() as cur:
            cur.execute("DELETE FROM auth_user_roles WHERE user_id = ? AND role_id = ?", (user.id, role_id))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"User '{username}' does not have role {role_id}.")

    def user_roles(self, username: str) -> list[dict[str, Any]]:
        user = self.get_user(username)
        with self.db.read() as cur:
            ids = [
                int(r[0])
                for r in cur.execute(
                    "SELECT role_id FROM auth_user_roles WHERE user_id = ?", (user.id,)
                ).fetchall()
            ]
        return [self.role_json(i) for i in ids]

    def role_users(self, role_id: int) -> list[dict[str, Any]]:
        self.get_role(role_id)
        with self.db.read() as cur:
            rows = cur.execute(
                "SELECT id, user_id, role_id FROM auth_user_roles WHERE role_id = ?", (role_id,)
            ).fetchall()
        return [{"id": int(r[0]), "user_id": int(r[1]), "role_id": int(r[2])} for r in rows]

    # ------------------------------------------------------------------ direct grants
    def _personal_role(self, user: User) -> int:
        name = personal_role_name(user.id)
        role = self._find_role(DEFAULT_WORKSPACE, name)
        if role is None:
            try:
                role = self.create_role(DEFAULT_WORKSPACE, name, f"Direct grants of {user.username}")
            except ResourceAlreadyExists:
                role = self._find_role(DEFAULT_WORKSPACE, name)
            self.assign_role(user.username, role["id"])  # type: ignore[index]
        return int(role["id"])  # type: ignore[index]

    def grant(self, username: str, resource_type: str, resource_id: str, permission: str) -> None:
        user = self.get_user(username)
        self.set_role_permission(self._personal_role(user), resource_type, str(resource_id), permission)

    def revoke(self, username: str, resource_type: str, resource_id: str) -> None:
        user = self.get_user(username)
        perms.check_resource_type(resource_type)
        role = self._find_role(DEFAULT_WORKSPACE, personal_role_name(user.id))
        removed = 0
        if role is not None:
            with self.db.write() as cur:
                cur.execute(
                    "DELETE FROM auth_role_permissions WHERE role_id = ? AND resource_type = ? AND resource_pattern = ?",
                    (role["id"], resource_type, str(resource_id)),
                )
                removed = cur.rowcount
        if not removed:
            raise ResourceDoesNotExist(
                f"User '{username}' has no direct permission on {resource_type} {resource_id}."
            )

    def grants_for(self, user_id: int, resource_type: str, resource_id: str) -> list[str]:
        """Permission names of every grant of the user's roles that matches the resource."""
        with self.db.read() as cur:
            rows = cur.execute(
                "SELECT rp.permission FROM auth_role_permissions rp JOIN auth_user_roles ur ON ur.role_id = rp.role_id "
                "WHERE ur.user_id = ? AND rp.resource_type = ? AND rp.resource_pattern IN (?, '*')",
                (user_id, resource_type, str(resource_id)),
            ).fetchall()
        return [r[0] for r in rows]

    def user_permission_rows(self, user: User) -> list[dict[str, Any]]:
        with self.db.read() as cur:
            rows = cur.execute(
                "SELECT r.id, r.name, r.workspace, rp.resource_type, rp.resource_pattern, rp.permission "
                "FROM auth_user_roles ur JOIN auth_roles r ON r.id = ur.role_id "
                "JOIN auth_role_permissions rp ON rp.role_id = r.id WHERE ur.user_id = ? ORDER BY rp.id",
                (user.id,),
            ).fetchall()
        keys = ("role_id", "role_name", "workspace", "resource_type", "resource_pattern", "permission")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def delete_resource_grants(self, resource_type: str, resource_id: str) -> None:
        """Forget every grant on a deleted/renamed resource (a new one of that name starts clean)."""
        with self.db.write() as cur:
            cur.execute(
                "DELETE FROM auth_role_permissions WHERE resource_type = ? AND resource_pattern = ?",
                (resource_type, str(resource_id)),
            )
