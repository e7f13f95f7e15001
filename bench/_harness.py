"""Shared helpers for the side-by-side benchmarks (labkeep vs the pinned mlflow).

Each benchmark measures one workload on both libraries in one invocation, each side in its own
fresh subprocess and its own temporary working directory, and reports medians of repeated
trials. ``report`` prints a table (labkeep, mlflow, speed-up ratio, target) and one JSON line.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
PYTHON = sys.executable
MLFLOW_VERSION = "3.17.2"


# ---------------------------------------------------------------- timing


def time_calls(fn: Callable[[], object], trials: int, warmup: int = 0) -> list[float]:
    """Wall-clock seconds of ``trials`` calls of ``fn`` (after ``warmup`` untimed calls)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(trials):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "median": median(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


# ---------------------------------------------------------------- isolation


def tree_cpu(root: int) -> float:
    """CPU seconds (user + sys, incl. reaped children) of a process and all its descendants, read
    from ``/proc``: a figure the machine's load inflates far less than wall time."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _ticks) in stats.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK")


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any MLFLOW_*/LABKEEP_* setting, plus ``extra``.

    Both sides get a bytecode cache under ``bench/.cache/pycache`` (machines that set
    PYTHONDONTWRITEBYTECODE would otherwise recompile every module of each import)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE_DIR / "pycache")
    env.update(extra)
    return env


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A fresh temporary directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"lkbench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_python(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 3600
) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in ``cwd``; raise with its stderr when it fails."""
    proc = subprocess.run(
        [PYTHON, *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`python {' '.join(args)[:200]}` failed in {cwd} (exit {proc.returncode}):\n"
            f"{proc.stderr[-4000:]}"
        )
    return proc


def time_fresh_python(code: str, cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of a whole ``python -c code`` process (interpreter start included)."""
    t0 = time.perf_counter()
    run_python(["-c", code], cwd, env)
    return time.perf_counter() - t0


def run_json(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 3600) -> dict:
    """Run ``python *args`` and parse the last stdout line as JSON."""
    proc = run_python(args, cwd, env, timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"`python {' '.join(args)[:200]}` printed nothing; stderr:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def emit(obj: dict) -> None:
    """Print ``obj`` as the one JSON line a worker subprocess answers with."""
    print(json.dumps(obj), flush=True)


# ---------------------------------------------------------------- results


@dataclass
class Measure:
    """One workload measured on both libraries.

    ``lower_is_better`` is True for times (ratio = mlflow / labkeep) and False for throughputs
    (ratio = labkeep / mlflow), so a ratio above 1 always means labkeep is faster.
    """

    name: str
    unit: str
    labkeep: float | None
    mlflow: float | None
    lower_is_better: bool = True
    target: float | None = None
    notes: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.labkeep or not self.mlflow:
            return None
        return self.mlflow / self.labkeep if self.lower_is_better else self.labkeep / self.mlflow

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.2f} s"
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def speed_probe() -> float:
    """Seconds this interpreter takes for a fixed pure-Python loop (10M additions), right now.

    The shared dev machine's speed drifts by a third from one quarter hour to the next (a virtual
    machine on a busy host); absolute figures are comparable only at a similar probe."""
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return round(time.perf_counter() - t0, 3)


def machine_info() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "speed_probe_s": speed_probe(),
    }


def report(bench: str, measures: list[Measure], extra: dict | None = None) -> None:
    """Print a human table, then one JSON line with every figure."""
    headers = ("workload", "labkeep", "mlflow", "ratio", "target", "")
    rows = []
    for m in measures:
        ratio = f"{m.ratio:.1f}x" if m.ratio is not None else "-"
        target = f">={m.target:g}x" if m.target is not None else ""
        verdict = {True: "ok", False: "BELOW", None: ""}[m.meets_target]
        rows.append((m.name, _fmt(m.labkeep, m.unit), _fmt(m.mlflow, m.unit), ratio, target, verdict))
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))
    print()
    payload = {
        "bench": bench,
        "machine": machine_info(),
        **(extra or {}),
        "results": [{**asdict(m), "ratio": m.ratio, "meets_target": m.meets_target} for m in measures],
    }
    print(json.dumps(payload), flush=True)
