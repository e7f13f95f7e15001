"""The ``labkeep`` command line. Each subcommand module is imported only when it is used."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from labkeep.version import __version__

# command name -> "module:attribute"
_COMMANDS = {
    "experiments": "labkeep.cli.experiments:experiments",
    "runs": "labkeep.cli.runs:runs",
    "db": "labkeep.cli.db:db",
    "server": "labkeep.cli.server:server",
    "ui": "labkeep.cli.server:ui",
    "models": "labkeep.cli.models:models",
    "run": "labkeep.cli.projects:run",
    "users": "labkeep.cli.users:users",
    "import": "labkeep.cli.transfer:import_",
    "export": "labkeep.cli.transfer:export",
    "sync": "labkeep.cli.sync:sync",
}


class LazyGroup(click.Group):
    """A group whose subcommands load on use, and whose errors print as one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> Any:
        from labkeep.exceptions import LabkeepException

        try:
            return super().invoke(ctx)
        except LabkeepException as exc:
            click.echo(f"Error: {exc.message} ({exc.error_code})", err=True)
            sys.exit(1)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labkeep")
def main() -> None:
    """labkeep: track experiments, compare runs, register and serve models."""


tracking_uri_option = click.option(
    "--tracking-uri",
    envvar=["LABKEEP_TRACKING_URI", "MLFLOW_TRACKING_URI"],
    default=None,
    help="Store to use (default: labkeep.db in the current directory).",
)
