"""``labkeep runs …``: list, describe, delete and restore runs."""

from __future__ import annotations

import click

from labkeep.cli import tracking_uri_option
from labkeep.cli.output import format_ms, print_table, to_json


def _client(tracking_uri: str | None):
    from labkeep.client import Client

    return Client(tracking_uri)


@click.group()
def runs() -> None:
    """Inspect and manage runs."""


@runs.command("list")
@click.option("--experiment-id", "-x", default=None, help="Experiment id (default: 0).")
@click.option("--experiment-name", "-n", default=None, help="Experiment name (instead of the id).")
@click.option(
    "--filter", "filter_string", default="", help="e.g. \"metrics.mse < 1 and params.alpha = '0.5'\""
)
@click.option("--order-by", multiple=True, help="e.g. 'metrics.mse ASC' (repeatable).")
@click.option(
    "--view",
    "-v",
    type=click.Choice(["active_only", "deleted_only", "all"], case_sensitive=False),
    default="active_only",
)
@click.option("--max-results", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@tracking_uri_option
def list_runs(
    experiment_id: str | None,
    experiment_name: str | None,
    filter_string: str,
    order_by: tuple[str, ...],
    view: str,
    max_results: int,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """List the runs of an experiment, newest first unless --order-by says otherwise."""
    from labkeep.exceptions import ResourceDoesNotExist

    client = _client(tracking_uri)
    if experiment_name:
        exp = client.get_experiment_by_name(experiment_name)
        if exp is None:
            raise ResourceDoesNotExist(f"No experiment named '{experiment_name}'.")
        experiment_id = exp.experiment_id
    found = client.search_runs(
        [experiment_id or "0"], filter_string, view.upper(), max_results, list(order_by)
    )
    if as_json:
        click.echo(to_json([r.to_dict() for r in found]))
        return
    metric_keys = sorted({k for r in found for k in r.data.metrics})[:6]
    print_table(
        ["Run Id", "Name", "Status", "Start", *[f"metrics.{k}" for k in metric_keys]],
        [
            [r.info.run_id, r.info.run_name, r.info.status, format_ms(r.info.start_time)]
            + [_fmt(r.data.metrics.get(k)) for k in metric_keys]
            for r in found
        ],
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


@runs.command("describe")
@click.option("--run-id", "-r", required=True)
@tracking_uri_option
def describe(run_id: str, tracking_uri: str | None) -> None:
    """Print a run as JSON: info, params, latest metrics, tags, inputs and outputs."""
    click.echo(to_json(_client(tracking_uri).get_run(run_id).to_dict()))


@runs.command("delete")
@click.option("--run-id", "-r", required=True)
@tracking_uri_option
def delete(run_id: str, tracking_uri: str | None) -> None:
    """Mark a run deleted."""
    _client(tracking_uri).delete_run(run_id)
    click.echo(f"Run {run_id} deleted.")


@runs.command("restore")
@click.option("--run-id", "-r", required=True)
@tracking_uri_option
def restore(run_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted run."""
    _client(tracking_uri).restore_run(run_id)
    click.echo(f"Run {run_id} restored.")
