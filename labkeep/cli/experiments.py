"""``labkeep experiments …``: create, list, rename, delete and restore experiments."""

from __future__ import annotations

import click

from labkeep.cli import tracking_uri_option
from labkeep.cli.output import print_table, to_json


def _client(tracking_uri: str | None):
    from labkeep.client import Client

    return Client(tracking_uri)


@click.group()
def experiments() -> None:
    """Manage experiments."""


@experiments.command("create")
@click.option("--experiment-name", "-n", required=True, help="Name of the new experiment.")
@click.option("--artifact-location", "-l", default=None, help="Where its runs store artifacts.")
@tracking_uri_option
def create(experiment_name: str, artifact_location: str | None, tracking_uri: str | None) -> None:
    """Create an experiment and print its id."""
    exp_id = _client(tracking_uri).create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {exp_id}")


@experiments.command("list")
@click.option(
    "--view",
    "-v",
    type=click.Choice(["active_only", "deleted_only", "all"], case_sensitive=False),
    default="active_only",
)
@click.option("--filter", "filter_string", default=None, help="Search filter, e.g. \"name LIKE 'demo%'\".")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@tracking_uri_option
def list_experiments(view: str, filter_string: str | None, as_json: bool, tracking_uri: str | None) -> None:
    """List experiments."""
    client = _client(tracking_uri)
    found, token = [], None
    while True:
        page = client.search_experiments(view.upper(), 1000, filter_string, None, token)
        found += page
        token = page.token
        if not token:
            break
    if as_json:
        click.echo(to_json([e.to_dict() for e in found]))
        return
    print_table(
        ["Experiment Id", "Name", "Artifact Location", "Stage"],
        [[e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage] for e in found],
    )


@experiments.command("rename")
@click.option("--experiment-id", "-x", required=True)
@click.option("--new-name", required=True)
@tracking_uri_option
def rename(experiment_id: str, new_name: str, tracking_uri: str | None) -> None:
    """Rename an experiment."""
    _client(tracking_uri).rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment {experiment_id} renamed to '{new_name}'.")


@experiments.command("delete")
@click.option("--experiment-id", "-x", required=True)
@tracking_uri_option
def delete(experiment_id: str, tracking_uri: str | None) -> None:
    """Mark an experiment (and its runs) deleted; `restore` brings it back."""
    _client(tracking_uri).delete_experiment(experiment_id)
    click.echo(f"Experiment {experiment_id} deleted.")


@experiments.command("restore")
@click.option("--experiment-id", "-x", required=True)
@tracking_uri_option
def restore(experiment_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted experiment and its runs."""
    _client(tracking_uri).restore_experiment(experiment_id)
    click.echo(f"Experiment {experiment_id} restored.")
