"""``labkeep sync``: push runs logged offline to the tracking server."""

from __future__ import annotations

import json
import sys

import click


@click.command("sync")
@click.option(
    "--to", "dest", default=None, help="Server URL (default: the server the offline runs were meant for)."
)
@click.option(
    "--from",
    "src",
    default=None,
    help="Offline store folder (default: LABKEEP_OFFLINE_DIR or ~/.labkeep/offline).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be pushed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def sync(dest: str | None, src: str | None, dry_run: bool, as_json: bool, quiet: bool) -> None:
    """Push runs logged offline (LABKEEP_MODE=offline or auto) to the server: only runs that are
    not there yet or changed since the last sync; a growing run gets only its new points."""
    import os

    from labkeep import offline
    from labkeep.exceptions import InvalidParameterValue
    from labkeep.transfer import open_sink, transfer
    from labkeep.transfer.progress import Progress
    from labkeep.transfer.store_source import StoreSource
    from labkeep.transfer.sync import Ledger, LedgerSink, LedgerSource

    folder = os.path.abspath(os.path.expanduser(src)) if src else offline.offline_dir()
    db = os.path.join(folder, "labkeep.db")
    if not os.path.exists(db):
        raise InvalidParameterValue(f"No offline store at {folder}: nothing was logged offline there.")
    target = dest or _target(folder)
    if not target or not target.startswith(("http://", "https://")):
        raise InvalidParameterValue("Give the server to push to with --to http://HOST:PORT.")
    ledger = Ledger(folder, target)
    source = LedgerSource(StoreSource(f"sqlite:///{db}"), ledger)
    sink = open_sink(target, dry_run=dry_run)
    if not quiet:
        click.echo(f"{'Dry run: ' if dry_run else ''}offline store {folder} -> {sink.description}", err=True)
    pushing = LedgerSink(sink, ledger)
    try:
        summary = transfer(source, pushing, progress=Progress(enabled=not quiet))
    finally:
        source.close()
        sink.close()
        if not dry_run:
            ledger.save()
    summary.count("runs", source.skipped, changed=False)
    summary.count("points sent", pushing.points_sent)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        pushed = summary.moved.get("runs", 0)
        click.echo(
            f"{'Would push' if dry_run else 'Pushed'} {pushed} run(s) to {target}; "
            f"{summary.unchanged.get('runs', 0)} already up to date; {pushing.points_sent} metric point(s) sent."
        )
        for line in summary.lines():
            click.echo("  " + line)
    if not summary.ok:
        click.echo(f"Error: {len(summary.problems)} item(s) not pushed; run `labkeep sync` again.", err=True)
        sys.exit(1)


def _target(folder: str) -> str | None:
    import os

    try:
        with open(os.path.join(folder, "sync-target"), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        from labkeep import config

        uri = config._tracking_uri or config.TRACKING_URI.get()
        return uri
