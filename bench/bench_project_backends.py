"""Project backends benchmark: submission overhead on a local Ray head, and what compares to it.

    .venv/bin/python bench/bench_project_backends.py             # 3 runs per workload
    .venv/bin/python bench/bench_project_backends.py --trials 5

mlflow has no Ray backend, and its Kubernetes backend needs a Docker engine (none runs here), so
there is no mlflow figure for a remote backend. What is measured, each as launch -> the entry
point's first statement (it prints ``time.time()``; medians of ``--trials`` runs):

- ``labkeep run --backend ray`` on a local Ray head (started here, one CPU), with the run recorded
  in a SQLite store served to the job on loopback;
- the same entry point through Ray's own ``ray job submit`` (no tracking): what Ray itself costs,
  so the difference is what labkeep adds on top of Ray;
- for the local backend, ``labkeep run --env-manager local`` against ``mlflow run --env-manager
  local`` on the same project (the comparable mlflow figure).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import Measure, clean_env, median, report, temp_dir  # noqa: E402
from bench_projects import _command  # noqa: E402

from tests.projects.ray_head import ray_exe, ray_head  # noqa: E402

TRAIN = 'import time\nprint("ENTRY", repr(time.time()), flush=True)\n'
_ENTRY_RE = re.compile(r"ENTRY (\d+\.\d+)")


def _write_project(directory: Path) -> None:
    directory.mkdir(parents=True)
    (directory / "MLproject").write_text(
        "name: small\nentry_points:\n  main:\n    command: python train.py\n"
    )
    (directory / "train.py").write_text(TRAIN)


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.time()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    match = _ENTRY_RE.search(proc.stdout)
    if not match:
        raise RuntimeError(f"{argv[:4]}: the entry point did not report its start:\n{proc.stdout[-2000:]}")
    return float(match.group(1)) - t0


def _labkeep(*args: str) -> list[str]:
    return _command("labkeep", *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    opts = parser.parse_args()
    figures: dict[str, list[float]] = {"lk_ray": [], "ray_cli": [], "lk_local": [], "ml_local": []}
    with temp_dir("backends") as work:
        proj = work / "proj"
        _write_project(proj)
        lk_env = clean_env(LABKEEP_TRACKING_URI=f"sqlite:///{work}/lk.db")
        ml_env = clean_env(MLFLOW_TRACKING_URI=f"sqlite:///{work}/ml.db")
        # Untimed first runs create each store's schema.
        _timed(_labkeep("--env-manager", "local"), proj, lk_env)
        _timed(_command("mlflow", "--env-manager", "local"), proj, ml_env)
        with ray_head() as address:
            cfg = json.dumps({"address": address})
            ray_env = clean_env(RAY_ADDRESS=address)
            for _ in range(opts.trials):
                figures["lk_ray"].append(
                    _timed(_labkeep("--backend", "ray", "--backend-config", cfg), proj, lk_env)
                )
                figures["ray_cli"].append(
                    _timed(
                        [ray_exe(), "job", "submit", "--working-dir", ".", "--", "python", "train.py"],
                        proj,
                        ray_env,
                    )
                )
        for _ in range(opts.trials):
            figures["lk_local"].append(_timed(_labkeep("--env-manager", "local"), proj, lk_env))
            figures["ml_local"].append(_timed(_command("mlflow", "--env-manager", "local"), proj, ml_env))
    med = {k: median(v) for k, v in figures.items()}
    measures = [
        Measure("local backend: launch -> entry point starts", "s", med["lk_local"], med["ml_local"]),
        Measure(
            "ray backend: launch -> entry point starts (mlflow column: plain `ray job submit`)",
            "s",
            med["lk_ray"],
            med["ray_cli"],
            notes={"labkeep_minus_ray_cli_s": med["lk_ray"] - med["ray_cli"]},
        ),
    ]
    report("project_backends", measures, extra={"trials": figures, "ray_mode": "local head, --num-cpus=1"})
    os.environ.pop("RAY_ADDRESS", None)


if __name__ == "__main__":
    main()
