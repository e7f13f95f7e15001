"""Progress on stderr, TTY-aware: a live line while a phase runs, then one line per stage
(runs, metric points, artifact files…) with counts and throughput."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from labkeep.utils.progress import is_terminal


class Board:
    """Counters of one phase that advance together (e.g. runs, metrics and artifacts)."""

    def __init__(self, title: str, totals: dict[str, int | None], out: TextIO | None) -> None:
        self.title = title
        self.totals = totals
        self.done = dict.fromkeys(totals, 0)
        self.out = out
        self.start = time.perf_counter()
        self._shown = 0.0
        self._tty = is_terminal(out)

    def add(self, stage: str, n: int = 1) -> None:
        self.done[stage] += n
        if self._tty:
            now = time.perf_counter()
            if now - self._shown > 0.2:
                self._shown = now
                elapsed = max(now - self.start, 1e-9)
                parts = [f"{s} {self._count(s)} ({self.done[s] / elapsed:,.0f}/s)" for s in self.done]
                self.out.write(f"\r{self.title}: " + "  ".join(parts) + "   ")  # type: ignore[union-attr]
                self.out.flush()  # type: ignore[union-attr]

    def _count(self, stage: str) -> str:
        total = self.totals.get(stage)
        return f"{self.done[stage]:,}" + (f"/{total:,}" if total is not None else "")

    def close(self) -> None:
        if self.out is None:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        if self._tty:
            self.out.write("\r\033[K")
        for stage in self.done:
            self.out.write(
                f"{self.title:<12} {stage:<10} {self._count(stage):>14}  {self.done[stage] / elapsed:>12,.0f}/s"
                f"  {elapsed:.1f}s\n"
            )
        self.out.flush()


class Progress:
    """Makes the boards of one transfer; ``enabled=False`` keeps it silent."""

    def __init__(self, enabled: bool = True, out: TextIO | None = None) -> None:
        self.out = (out or sys.stderr) if enabled else None

    def board(self, title: str, totals: dict[str, int | None]) -> Board:
        return Board(title, totals, self.out)
