"""auth: users, personal access tokens and sessions, roles, role permissions, user-role assignments

Revision ID: 0003_auth
Revises: 0003_compat
"""

from typing import Any

from alembic import op
import sqlalchemy as sa

revision = "0003_auth"
down_revision = "0003_compat"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table(
        "auth_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("username", name="uq_auth_users_username"),
        **_MYSQL,
    )
    # Personal access tokens (kind "token") and browser sessions (kind "session"): only a hash.
    op.create_table(
        "auth_tokens",
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_id"),
        sa.UniqueConstraint("token_hash", name="uq_auth_tokens_hash"),
        **_MYSQL,
    )
    op.create_index("ix_auth_tokens_user", "auth_tokens", ["user_id"])
    op.create_table(
        "auth_roles",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.UniqueConstraint("workspace", "name", name="uq_auth_roles_name"),
        **_MYSQL,
    )
    op.create_table(
        "auth_role_permissions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_pattern", sa.String(length=255), nullable=False),
        sa.Column("permission", sa.String(length=32), nullable=False),
        sa.UniqueConstraint("role_id", "resource_type", "resource_pattern", name="uq_auth_role_perm"),
        **_MYSQL,
    )
    op.create_index("ix_auth_role_perm_res", "auth_role_permissions", ["resource_type", "resource_pattern"])
    op.create_table(
        "auth_user_roles",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("user_id", "role_id", name="uq_auth_user_roles"),
        **_MYSQL,
    )


def downgrade() -> None:
    for table in ("auth_user_roles", "auth_role_permissions", "auth_roles", "auth_tokens", "auth_users"):
        op.drop_table(table)
