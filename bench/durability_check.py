"""Durability of log_metric under kill -9: every call that returned must be in the store.

    .venv/bin/python bench/durability_check.py [--trials 5] [--lib labkeep|mlflow]

A child process logs metric ``x`` on the default local store of a fresh temporary folder and
prints each step right after ``log_metric`` returns. The parent SIGKILLs it at a random
moment, then reopens the store and checks that every printed step was stored. Exits 1 when a
step is missing (or the store cannot be read back).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import PYTHON, clean_env, run_json, temp_dir  # noqa: E402

CHILD = """
import sys
import {lib} as ml
ml.set_experiment("durability")
run = ml.start_run()
print("RUN", run.info.run_id, flush=True)
i = 0
while True:
    ml.log_metric("x", float(i), step=i)
    print(i, flush=True)
    i += 1
"""

READ_BACK = """
import json, sys
from {lib} import {client} as Client
hist = Client().get_metric_history(sys.argv[1], "x")
print(json.dumps(sorted(m.step for m in hist)))
"""


def one_trial(lib: str, rnd: random.Random) -> tuple[int, int, list[int]]:
    """Run one kill trial; return (steps printed, steps stored, missing steps)."""
    with temp_dir("durability") as cwd:
        child = subprocess.Popen(
            [PYTHON, "-c", CHILD.format(lib=lib)],
            cwd=cwd,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: list[str] = []
        started = threading.Event()

        def read() -> None:
            for line in child.stdout:
                if not line.endswith("\n"):
                    break  # a partial line cut by the kill was never confirmed
                lines.append(line)
                if line.startswith("RUN "):
                    started.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        if not started.wait(120):
            child.kill()
            raise RuntimeError(f"{lib} child never started a run")
        time.sleep(rnd.uniform(0.05, 1.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reader.join(10)

        run_id = lines[0].split()[1]
        printed = [int(ln) for ln in lines[1:]]
        client = "Client" if lib == "labkeep" else "MlflowClient"
        stored = set(run_json(["-c", READ_BACK.format(lib=lib, client=client), run_id], cwd))
        missing = [s for s in printed if s not in stored]
        return len(printed), len(stored), missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--lib", choices=("labkeep", "mlflow"), default="labkeep")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args(argv)
    rnd = random.Random(args.seed)

    failures = 0
    for t in range(1, args.trials + 1):
        printed, stored, missing = one_trial(args.lib, rnd)
        verdict = "ok" if not missing else f"LOST {len(missing)} (first: {missing[:5]})"
        print(f"trial {t}: {printed} steps confirmed, {stored} stored -> {verdict}", flush=True)
        failures += bool(missing)
    print(f"{args.lib}: {args.trials - failures} of {args.trials} kill -9 trials lost nothing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
