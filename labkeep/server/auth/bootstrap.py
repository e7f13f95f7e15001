"""The first admin: created when auth starts on a database without users.

Credentials come from (first found wins) ``LABKEEP_AUTH_ADMIN_USERNAME`` /
``LABKEEP_AUTH_ADMIN_PASSWORD``; ``admin_username`` / ``admin_password`` in the INI file named by
``MLFLOW_AUTH_CONFIG_PATH`` (section ``[mlflow]``, as mlflow's basic-auth app reads it); and
``MLFLOW_AUTH_ADMIN_PASSWORD`` (user ``admin``). Once any user exists they are ignored.
"""

from __future__ import annotations

import configparser

from labkeep import config
from labkeep.exceptions import LabkeepException
from labkeep.server.auth.store import AuthStore

HOW_TO_SET = (
    "Authentication is on but the database has no users and no admin password is configured: set "
    "MLFLOW_AUTH_ADMIN_PASSWORD (creates user 'admin'), or LABKEEP_AUTH_ADMIN_USERNAME and "
    "LABKEEP_AUTH_ADMIN_PASSWORD, or admin_username/admin_password in the [mlflow] section of the "
    "file named by MLFLOW_AUTH_CONFIG_PATH."
)


def read_config_file() -> dict[str, str]:
    """The ``[mlflow]`` section of ``MLFLOW_AUTH_CONFIG_PATH`` (empty when unset)."""
    path = config.AUTH_CONFIG_PATH.get()
    if not path:
        return {}
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except (OSError, configparser.Error) as exc:
        raise LabkeepException(
            f"Cannot read MLFLOW_AUTH_CONFIG_PATH={path}: {exc}", error_code="INVALID_PARAMETER_VALUE"
        ) from None
    return dict(parser["mlflow"]) if parser.has_section("mlflow") else {}


def admin_credentials() -> tuple[str, str] | None:
    password = config.AUTH_ADMIN_PASSWORD.get()
    if password:
        return config.AUTH_ADMIN_USERNAME.get() or "admin", password
    conf = read_config_file()
    username = conf.get("admin_username") or "admin"
    password = conf.get("admin_password") or config.MLFLOW_AUTH_ADMIN_PASSWORD.get()
    return (username, password) if password else None


def bootstrap_admin(store: AuthStore) -> str | None:
    """Create the first admin if there are no users; return its name (None when users exist).

    Raises a LabkeepException saying what to set when there are no users and no credentials.
    """
    if store.count_users() > 0:
        return None
    creds = admin_credentials()
    if creds is None:
        raise LabkeepException(HOW_TO_SET, error_code="INVALID_STATE")
    from labkeep.exceptions import ResourceAlreadyExists

    try:
        store.create_user(creds[0], creds[1], is_admin=True)
    except ResourceAlreadyExists:  # another worker was first
        pass
    return creds[0]
