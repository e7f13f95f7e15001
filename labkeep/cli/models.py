"""``labkeep models …``: registry commands plus model serving commands."""

from __future__ import annotations

import click

from labkeep.cli.models_registry import REGISTRY_COMMANDS
from labkeep.cli.models_serving import SERVING_COMMANDS


@click.group()
def models() -> None:
    """Registered models (list, versions, stages, aliases, history) and serving (serve, predict, docker)."""


for _command in (*REGISTRY_COMMANDS, *SERVING_COMMANDS):
    models.add_command(_command)
