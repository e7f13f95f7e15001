"""The tracking store contract on SQLite, PostgreSQL and MariaDB."""

from tests.store.tracking_contract import *  # noqa: F403
