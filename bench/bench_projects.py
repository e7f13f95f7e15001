"""Projects benchmark: `labkeep run` vs `mlflow run --env-manager virtualenv`, side by side.

    .venv/bin/python bench/bench_projects.py             # 3 warm runs per side
    .venv/bin/python bench/bench_projects.py --trials 5

The same small project (python_env.yaml: an exact Python version that pyenv has here, and two
small packages) runs on both sides, each in its own copy of the project, its own default local
store and its own empty environment cache (labkeep: LABKEEP_ENV_CACHE; mlflow: MLFLOW_ENV_ROOT).
Package download caches (uv's, pip's) and this machine's local wheel indexes are warm for both.

Figures:
- cold: from launching the command until the entry point's first statement runs, with an
  empty environment cache (environment creation + package installation + run bookkeeping);
- cached: the same with the environment already built (median of ``--trials`` runs);
- overhead: cached minus the time the environment's interpreter takes to start the same script
  directly (what the run machinery adds before the entry point starts).

Each side's store is created by an untimed first run (``-e noop --env-manager local``), so the
one-off schema creation is not counted on either side; that run also fills the bytecode cache
(kept under ``bench/.cache/pycache`` for both sides: this machine sets PYTHONDONTWRITEBYTECODE,
which would make every mlflow start recompile its sources).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import CACHE_DIR, PYTHON, Measure, clean_env, median, report, temp_dir  # noqa: E402

PACKAGES = ["six", "pyyaml"]
TRAIN = 'import time\nprint("ENTRY", repr(time.time()), flush=True)\nimport six, yaml\n'
_ENTRY_RE = re.compile(r"^ENTRY (\d+\.\d+)$", re.M)


def _python_version() -> str:
    """An exact version pyenv has (mlflow's virtualenv manager installs through pyenv)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = sorted(
        (p.name for p in root.glob(f"{minor}.*") if p.name.replace(".", "").isdigit()), reverse=True
    )
    return candidates[0] if candidates else ".".join(map(str, sys.version_info[:3]))


def _write_project(directory: Path, python: str) -> None:
    directory.mkdir(parents=True)
    (directory / "MLproject").write_text(
        "name: small\npython_env: python_env.yaml\nentry_points:\n"
        "  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n    command: python train.py --alpha {alpha}\n"
        "  noop:\n    command: python -c pass\n"
    )
    (directory / "python_env.yaml").write_text(
        f'python: "{python}"\nbuild_dependencies: [pip]\ndependencies: [{", ".join(PACKAGES)}]\n'
    )
    (directory / "train.py").write_text(TRAIN)


def _command(lib: str, *args: str) -> list[str]:
    if lib == "labkeep":
        return [
            PYTHON,
            "-c",
            "import sys; from labkeep.cli import main; sys.argv[0] = 'labkeep'; main()",
            "run",
            ".",
            *args,
        ]
    return [PYTHON, "-m", "mlflow", "run", ".", *args]


def _timed_run(lib: str, cwd: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(launch -> entry point seconds, total seconds, stderr) of one run."""
    t0 = time.time()
    proc = subprocess.run(
        _command(lib, *args), cwd=cwd, env=env, capture_output=True, text=True, timeout=1800
    )
    total = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    match = _ENTRY_RE.search(proc.stdout)
    if not match:
        raise RuntimeError(f"{lib}: the entry point did not report its start:\n{proc.stdout[-2000:]}")
    return float(match.group(1)) - t0, total, proc.stderr


def _direct_start(python: str, cwd: Path) -> float:
    """Launch -> first statement when the environment's interpreter runs the script directly."""
    t0 = time.time()
    out = subprocess.run([python, "train.py"], cwd=cwd, capture_output=True, text=True, check=True).stdout
    return float(_ENTRY_RE.search(out).group(1)) - t0


def _env_python(root: Path) -> str:
    found = sorted(root.glob("*/bin/python"))
    if not found:
        raise RuntimeError(f"no environment found under {root}")
    return str(found[0])


def measure(lib: str, work: Path, python: str, trials: int, env_manager: str) -> dict:
    project = work / f"{lib}-project"
    _write_project(project, python)
    env_root = work / f"{lib}-envs"
    # Bytecode caches on for both sides, in a private folder: with PYTHONDONTWRITEBYTECODE (set on
    # this machine) every `import mlflow` would recompile ~15 s of source and swamp the figures.
    pyc = {"PYTHONPYCACHEPREFIX": str(CACHE_DIR / "pycache")}
    if lib == "labkeep":
        env = clean_env(LABKEEP_ENV_CACHE=str(env_root), **pyc)
    else:
        env = clean_env(MLFLOW_ENV_ROOT=str(env_root), MLFLOW_TRACKING_URI="sqlite:///mlflow.db", **pyc)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Untimed: create the store (schema) with a run that builds no environment.
    subprocess.run(
        _command(lib, "-e", "noop", "--env-manager", "local"),
        cwd=project,
        env=env,
        capture_output=True,
        timeout=600,
        check=True,
    )
    cold, cold_total, _ = _timed_run(lib, project, env, "--env-manager", env_manager)
    cached = []
    for _ in range(trials):
        start, _total, stderr = _timed_run(lib, project, env, "--env-manager", env_manager)
        cached.append(start)
    python_bin = PYTHON if env_manager == "local" else _env_python(env_root)
    direct = median([_direct_start(python_bin, project) for _ in range(max(3, trials))])
    return {
        "cold": cold,
        "cold_total": cold_total,
        "cached": median(cached),
        "cached_all": cached,
        "direct": direct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=3, help="cached-environment runs per side (median)")
    opts = parser.parse_args()
    python = _python_version()
    results: dict[str, dict] = {}
    notes: dict[str, str] = {}
    with temp_dir("projects") as work:
        results["labkeep"] = measure("labkeep", work, python, opts.trials, "virtualenv")
        try:
            results["mlflow"] = measure("mlflow", work, python, opts.trials, "virtualenv")
            notes["mlflow_env_manager"] = "virtualenv"
        except RuntimeError as exc:
            notes["mlflow_env_manager"] = (
                "local (virtualenv failed here: " + str(exc).splitlines()[-1][:200] + ")"
            )
            shutil.rmtree(work / "mlflow-project", ignore_errors=True)
            results["mlflow"] = measure("mlflow", work, python, opts.trials, "local")
    lk, ml = results["labkeep"], results["mlflow"]
    lk_overhead = max(lk["cached"] - lk["direct"], 0.0)
    ml_overhead = max(ml["cached"] - ml["direct"], 0.0)
    measures = [
        Measure("cold env build -> entry point starts", "s", lk["cold"], ml["cold"], target=5),
        Measure("cached env: launch -> entry point starts", "s", lk["cached"], ml["cached"]),
        Measure(
            "cached env: overhead before entry point",
            "s",
            lk_overhead,
            ml_overhead,
            notes={"labkeep_target_s": 1.0},
        ),
    ]
    print(
        f"project: python_env python={python}, packages={PACKAGES}; mlflow env manager: {notes['mlflow_env_manager']}"
    )
    print(
        f"labkeep cached overhead {lk_overhead:.2f} s (target <= 1 s: {'ok' if lk_overhead <= 1.0 else 'BELOW'})"
    )
    report(
        "projects",
        measures,
        {
            "python": python,
            "packages": PACKAGES,
            "trials": opts.trials,
            "raw": results,
            "labkeep_cached_overhead_s": lk_overhead,
            "labkeep_overhead_meets_1s": lk_overhead <= 1.0,
            **notes,
        },
    )


if __name__ == "__main__":
    main()
