"""Progress bars for people at a terminal (tqdm), and nothing at all when stderr is not a TTY.

tqdm is imported only when a bar is really drawn, so scripts, pipes and CI logs pay nothing.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO


class ProgressBar(Protocol):
    """What callers use of a bar (a ``tqdm`` object, or the silent stand-in)."""

    def update(self, n: int = 1) -> Any: ...

    def reset(self, total: int | None = None) -> Any: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...

    def close(self) -> Any: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def reset(self, total: int | None = None) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def is_terminal(out: TextIO | None) -> bool:
    """True when ``out`` is an interactive terminal."""
    isatty = getattr(out, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_bar(
    desc: str, total: int | None, unit: str = "B", enabled: bool = True, out: TextIO | None = None
) -> ProgressBar:
    """A bar on ``out`` (default stderr) when it is a terminal and ``enabled``; otherwise a silent one.

    ``unit="B"`` counts bytes and shows KB/MB with a 1024 divisor; any other unit counts items.
    """
    out = out if out is not None else sys.stderr
    if not enabled or not is_terminal(out):
        return _Silent()
    from tqdm import tqdm

    return tqdm(
        desc=desc,
        total=total,
        unit=unit,
        unit_scale=unit == "B",
        unit_divisor=1024 if unit == "B" else 1000,
        file=out,
        mininterval=0.2,
        dynamic_ncols=True,
        leave=True,
    )
