"""``labkeep db upgrade``: bring a database's schema to the current version."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.argument("url", required=False)
def upgrade(url: str | None) -> None:
    """Create or upgrade the schema of the store at URL (default: the tracking URI in force)."""
    from labkeep import config
    from labkeep.stores.lookup import sql_tracking_store
    from labkeep.stores.sql.db import open_database
    from labkeep.stores.sql.migrate import SCHEMA_HEAD, current_revision, ensure_schema

    uri = config.normalize_store_uri(url) if url else config.get_tracking_uri()
    database = open_database(uri)
    before = current_revision(database)
    ensure_schema(database)
    database.close()
    # Creating the store adds the Default experiment on a brand-new database.
    sql_tracking_store(uri).close()
    if before == SCHEMA_HEAD:
        click.echo(f"Schema of {uri} is already at revision {SCHEMA_HEAD}.")
    else:
        click.echo(f"Upgraded {uri} from revision {before or '(empty)'} to {SCHEMA_HEAD}.")
