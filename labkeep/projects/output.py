"""The one place project code talks to the user: short ``labkeep:`` lines on stderr."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    """Print one progress/warning line for people (stderr, flushed)."""
    stream = sys.stderr
    stream.write(f"labkeep: {message}\n")
    stream.flush()
