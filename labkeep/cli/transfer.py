"""``labkeep import``, ``labkeep export`` and ``labkeep sync``: thin layers over ``labkeep.transfer``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

_common = [
    click.option(
        "--to",
        "dest",
        default=None,
        help="Destination store URI, folder or server URL (default: the tracking URI).",
    ),
    click.option(
        "--experiments", default=None, help="Comma-separated experiment names or ids to move (default: all)."
    ),
    click.option("--dry-run", is_flag=True, help="Show what would move; change nothing."),
    click.option(
        "--keep-artifact-locations",
        is_flag=True,
        help="Reference artifacts where they are instead of copying them.",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    click.option("--quiet", "-q", is_flag=True, help="No progress output."),
]


def _options(f: Any) -> Any:
    for opt in reversed(_common):
        f = opt(f)
    return f


def _run(
    source: Any,
    dest: str | None,
    experiments: str | None,
    dry_run: bool,
    keep: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    from labkeep import config
    from labkeep.transfer import open_sink, transfer
    from labkeep.transfer.progress import Progress

    target = dest or config.get_tracking_uri()
    sink = open_sink(target, dry_run=dry_run)
    wanted = [e.strip() for e in experiments.split(",") if e.strip()] if experiments else None
    if not quiet:
        click.echo(f"{'Dry run: ' if dry_run else ''}{source.description} -> {sink.description}", err=True)
    try:
        summary = transfer(
            source,
            sink,
            experiments=wanted,
            keep_artifact_locations=keep,
            progress=Progress(enabled=not quiet),
        )
    finally:
        source.close()
        sink.close()
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        for line in summary.lines():
            click.echo(line)
    if not summary.ok:
        click.echo(
            f"Error: {len(summary.problems)} item(s) skipped; see above. Fix them and run again:"
            " what already came across is not repeated.",
            err=True,
        )
        sys.exit(1)


@click.group("import")
def import_() -> None:
    """Bring experiments, runs, models and the registry in from another store."""


@import_.command("mlflow")
@click.argument("source")
@_options
@click.option(
    "--artifacts-server",
    default=None,
    help="URL of the MLflow server that serves a database's mlflow-artifacts:/ locations.",
)
def import_mlflow(
    source: str,
    dest: str | None,
    experiments: str | None,
    dry_run: bool,
    keep_artifact_locations: bool,
    as_json: bool,
    quiet: bool,
    artifacts_server: str | None,
) -> None:
    """Import an MLflow store: an mlruns/ folder, a database URI (sqlite:///mlflow.db,
    postgresql://…, mysql+pymysql://…) or a server URL (http://…). Run ids stay the same;
    running it again adds only what is missing."""
    from labkeep.transfer import open_mlflow_source

    reader = open_mlflow_source(source)
    reader.artifact_server = artifacts_server or reader.artifact_server
    _run(reader, dest, experiments, dry_run, keep_artifact_locations, as_json, quiet)


@import_.command("labkeep")
@click.argument("source")
@_options
def import_labkeep(
    source: str,
    dest: str | None,
    experiments: str | None,
    dry_run: bool,
    keep_artifact_locations: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Import from another labkeep store (URI or folder), a labkeep server, or an export folder."""
    from labkeep.transfer import open_labkeep_source

    _run(open_labkeep_source(source), dest, experiments, dry_run, keep_artifact_locations, as_json, quiet)


@click.command("export")
@click.option("--from", "src", default=None, help="Store to export (default: the tracking URI).")
@click.option(
    "--to", "dest", required=True, help="An export folder (portable format) or another store URI/server URL."
)
@click.option("--experiments", default=None, help="Comma-separated experiment names or ids (default: all).")
@click.option("--dry-run", is_flag=True, help="Show what would move; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def export(
    src: str | None, dest: str, experiments: str | None, dry_run: bool, as_json: bool, quiet: bool
) -> None:
    """Export a labkeep store to a portable folder (JSON lines + artifact files) or another store."""
    import os

    from labkeep import config
    from labkeep.transfer import open_labkeep_source

    source = open_labkeep_source(src or config.get_tracking_uri())
    if (
        "://" not in dest
        and not dest.startswith("export:")
        and not os.path.exists(os.path.join(dest, "labkeep.db"))
    ):
        dest = "export:" + dest
    _run(source, dest, experiments, dry_run, False, as_json, quiet)
