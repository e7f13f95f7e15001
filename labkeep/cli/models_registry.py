"""``labkeep models list|describe|versions|transition|alias|history|delete|rename``: the model registry.

Each command is one registry call through ``Client``; errors print one line and exit non-zero.
"""

from __future__ import annotations

from typing import Any

import click

from labkeep.cli import tracking_uri_option
from labkeep.cli.output import format_ms, print_table, to_json

registry_uri_option = click.option(
    "--registry-uri",
    envvar=["LABKEEP_REGISTRY_URI", "MLFLOW_REGISTRY_URI"],
    default=None,
    help="Model registry store (default: the tracking store).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _client(tracking_uri: str | None, registry_uri: str | None) -> Any:
    from labkeep.client import Client

    return Client(tracking_uri, registry_uri)


def _quoted(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"


def _all_versions(client: Any, name: str) -> list[Any]:
    found, token = [], None
    while True:
        page = client.search_model_versions(f"name = {_quoted(name)}", 10000, ["version_number DESC"], token)
        found += page
        token = page.token
        if not token:
            return found


def _version_rows(versions: list[Any]) -> list[list[Any]]:
    return [
        [
            v.version,
            v.current_stage,
            ", ".join(v.aliases),
            v.run_id or "",
            v.source or "",
            format_ms(v.creation_timestamp),
            v.description or "",
        ]
        for v in versions
    ]


_VERSION_HEADERS = ["Version", "Stage", "Aliases", "Run Id", "Source", "Created (UTC)", "Description"]


@click.command("list")
@click.option("--filter", "filter_string", default=None, help="Search filter, e.g. \"name LIKE 'churn%'\".")
@json_option
@tracking_uri_option
@registry_uri_option
def list_models(
    filter_string: str | None, as_json: bool, tracking_uri: str | None, registry_uri: str | None
) -> None:
    """List registered models."""
    client = _client(tracking_uri, registry_uri)
    found, token = [], None
    while True:
        page = client.search_registered_models(filter_string, 1000, ["name ASC"], token)
        found += page
        token = page.token
        if not token:
            break
    if as_json:
        click.echo(to_json([m.to_dict() for m in found]))
        return
    rows = []
    for m in found:
        latest = ", ".join(
            f"{v.current_stage}: v{v.version}"
            for v in sorted(m.latest_versions, key=lambda v: int(v.version))
        )
        aliases = ", ".join(f"{a} -> v{v}" for a, v in sorted(m.aliases.items()))
        rows.append([m.name, latest, aliases, format_ms(m.last_updated_timestamp)])
    print_table(["Name", "Latest versions", "Aliases", "Last updated (UTC)"], rows)


@click.command("describe")
@click.argument("name")
@json_option
@tracking_uri_option
@registry_uri_option
def describe(name: str, as_json: bool, tracking_uri: str | None, registry_uri: str | None) -> None:
    """Show a registered model: description, tags, aliases and its versions."""
    client = _client(tracking_uri, registry_uri)
    model = client.get_registered_model(name)
    versions = _all_versions(client, name)
    if as_json:
        click.echo(
            to_json({"registered_model": model.to_dict(), "model_versions": [v.to_dict() for v in versions]})
        )
        return
    click.echo(f"Name:         {model.name}")
    click.echo(f"Description:  {model.description or ''}")
    click.echo(f"Created:      {format_ms(model.creation_timestamp)} UTC by {model.user_id or 'unknown'}")
    click.echo(f"Last updated: {format_ms(model.last_updated_timestamp)} UTC")
    click.echo("Tags:         " + ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())))
    click.echo("Aliases:      " + ", ".join(f"{a} -> v{v}" for a, v in sorted(model.aliases.items())))
    click.echo("")
    print_table(_VERSION_HEADERS, _version_rows(versions))


@click.command("versions")
@click.argument("name", required=False)
@click.option("--filter", "filter_string", default=None, help="Search filter, e.g. \"run_id = '…'\".")
@json_option
@tracking_uri_option
@registry_uri_option
def versions(
    name: str | None,
    filter_string: str | None,
    as_json: bool,
    tracking_uri: str | None,
    registry_uri: str | None,
) -> None:
    """List the versions of model NAME (or every version matching --filter)."""
    client = _client(tracking_uri, registry_uri)
    if name is None and filter_string is None:
        raise click.UsageError("Give a model NAME or a --filter.")
    if name is not None:
        client.get_registered_model(name)  # a clear error for an unknown name
        found = _all_versions(client, name)
    else:
        found, token = [], None
        while True:
            page = client.search_model_versions(filter_string, 10000, None, token)
            found += page
            token = page.token
            if not token:
                break
    if as_json:
        click.echo(to_json([v.to_dict() for v in found]))
        return
    if name is None:
        print_table(
            ["Name", *_VERSION_HEADERS],
            [[v.name, *row] for v, row in zip(found, _version_rows(found), strict=True)],
        )
    else:
        print_table(_VERSION_HEADERS, _version_rows(found))


@click.command("transition")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--archive-existing", is_flag=True, help="Move the other versions in STAGE to Archived.")
@click.option("--comment", "-m", default=None, help="Why (kept in the promotion history).")
@tracking_uri_option
@registry_uri_option
def transition(
    name: str,
    version: str,
    stage: str,
    archive_existing: bool,
    comment: str | None,
    tracking_uri: str | None,
    registry_uri: str | None,
) -> None:
    """Move version VERSION of model NAME to STAGE (e.g. Staging, Production, Archived)."""
    mv = _client(tracking_uri, registry_uri).transition_model_version_stage(
        name, version, stage, archive_existing, comment=comment
    )
    click.echo(f"Model {mv.name} version {mv.version} is now in stage {mv.current_stage}.")


@click.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", "delete_alias", is_flag=True, help="Remove the alias instead of setting it.")
@click.option("--comment", "-m", default=None, help="Why (kept in the promotion history).")
@tracking_uri_option
@registry_uri_option
def alias(
    name: str,
    alias: str,
    version: str | None,
    delete_alias: bool,
    comment: str | None,
    tracking_uri: str | None,
    registry_uri: str | None,
) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if it exists), or remove it with --delete."""
    client = _client(tracking_uri, registry_uri)
    if delete_alias:
        if version is not None:
            raise click.UsageError("--delete takes no VERSION.")
        client.delete_registered_model_alias(name, alias, comment=comment)
        click.echo(f"Removed alias {alias} from model {name}.")
        return
    if version is None:
        raise click.UsageError("Give the VERSION the alias should point at (or --delete).")
    client.set_registered_model_alias(name, alias, version, comment=comment)
    click.echo(f"Alias {alias} of model {name} now points at version {version}.")


@click.command("history")
@click.argument("name")
@click.option("--version", "-v", default=None, help="Only this version's history.")
@json_option
@tracking_uri_option
@registry_uri_option
def history(
    name: str, version: str | None, as_json: bool, tracking_uri: str | None, registry_uri: str | None
) -> None:
    """Show the promotion history of model NAME: stage transitions and alias changes, oldest first."""
    events = _client(tracking_uri, registry_uri).get_promotion_history(name, version)
    if as_json:
        click.echo(to_json([e.to_dict() for e in events]))
        return
    rows = []
    for e in events:
        if e.kind == "stage":
            what = f"stage {e.from_value} -> {e.to_value}"
        elif e.kind == "alias":
            before = f"v{e.from_value}" if e.from_value else "(new)"
            after = f"v{e.to_value}" if e.to_value else "(removed)"
            what = f"alias {e.subject}: {before} -> {after}"
        else:
            what = e.kind.replace("_", " ")
        rows.append([format_ms(e.timestamp), e.version or "", what, e.user_id or "", e.comment or ""])
    print_table(["When (UTC)", "Version", "Change", "By", "Comment"], rows)


@click.command("delete")
@click.argument("name")
@click.option("--version", "-v", default=None, help="Delete only this version (other versions stay).")
@tracking_uri_option
@registry_uri_option
def delete(name: str, version: str | None, tracking_uri: str | None, registry_uri: str | None) -> None:
    """Delete registered model NAME with all its versions, or one version with --version."""
    client = _client(tracking_uri, registry_uri)
    if version is not None:
        client.delete_model_version(name, version)
        click.echo(f"Deleted version {version} of model {name}.")
    else:
        client.delete_registered_model(name)
        click.echo(f"Deleted registered model {name}.")


@click.command("rename")
@click.argument("name")
@click.argument("new_name")
@tracking_uri_option
@registry_uri_option
def rename(name: str, new_name: str, tracking_uri: str | None, registry_uri: str | None) -> None:
    """Rename registered model NAME to NEW_NAME (versions, aliases and history follow)."""
    _client(tracking_uri, registry_uri).rename_registered_model(name, new_name)
    click.echo(f"Renamed registered model {name} to {new_name}.")


REGISTRY_COMMANDS = [list_models, describe, versions, transition, alias, history, delete, rename]
