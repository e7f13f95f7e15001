"""Autolog overhead, labkeep vs mlflow 3.17.2: wall time of training with autolog on minus the same
training with autolog off, side by side.

    .venv/bin/python bench/bench_autolog.py            # 3 trials a side (mlflow's are slow)
    .venv/bin/python bench/bench_autolog.py --quick    # 1 trial, a smoke run
    .venv/bin/python bench/bench_autolog.py --only sklearn

* ``sklearn``: ``LogisticRegression().fit`` on a 200 x 4 set made in the worker, with
  ``<lib>.sklearn.autolog()`` defaults (params, training metrics, plots, model with signature,
  dataset) — one run per fit.
* ``lightning``: a 100-step Lightning run (2-layer model, 200 rows in batches of 2, one epoch,
  a 40-row validation set) with ``<lib>.pytorch.autolog()`` defaults (metrics, best checkpoint,
  summary, model). mlflow's universal ``mlflow.autolog()`` fails to enable for Lightning
  (circular import inside mlflow 3.17.2), so both sides call their ``pytorch.autolog()``.

Each side runs in a fresh subprocess in a new temporary directory with its default local store.
One untimed warm-up fit with autolog on (first-use imports) and one off; then ``trials`` timed
fits on and ``trials`` off, alternating. Overhead = median(on) - median(off).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Measure, clean_env, emit, median, report, run_json, temp_dir  # noqa: E402

FULL = dict(trials=3)
QUICK = dict(trials=1)


# ====================================================================== worker side
def _quiet() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)


def _lib(name: str):
    if name == "labkeep":
        import labkeep as mlf
    else:
        import mlflow as mlf

        mlf.set_tracking_uri("sqlite:///mlflow.db")
    mlf.set_experiment("bench-autolog")
    return mlf


def _overhead(train, enable, disable, trials: int) -> dict:
    enable()
    train()
    disable()
    train()
    on, off = [], []
    for _ in range(trials):
        enable()
        t0 = time.perf_counter()
        train()
        on.append(time.perf_counter() - t0)
        disable()
        t0 = time.perf_counter()
        train()
        off.append(time.perf_counter() - t0)
    return {"on": median(on), "off": median(off), "overhead": median(on) - median(off), "trials": trials}


def _sklearn(lib: str, trials: int) -> dict:
    mlf = _lib(lib)
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return _overhead(
        lambda: LogisticRegression().fit(X, y),
        lambda: mlf.sklearn.autolog(silent=True),
        lambda: mlf.sklearn.autolog(disable=True),
        trials,
    )


def _lightning(lib: str, trials: int) -> dict:
    mlf = _lib(lib)
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.autolog.torch_models import lit_module_class, make_data

    X, y = make_data(240)
    train_dl = DataLoader(TensorDataset(X[:200], y[:200]), batch_size=2)
    val_dl = DataLoader(TensorDataset(X[200:], y[200:]), batch_size=40)
    cls = lit_module_class(pl)

    def train() -> None:
        torch.manual_seed(0)
        trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False)  # fmt: skip
        trainer.fit(cls(), train_dl, val_dl)
        assert trainer.global_step == 100

    return _overhead(
        train,
        lambda: mlf.pytorch.autolog(silent=True),
        lambda: mlf.pytorch.autolog(disable=True),
        trials,
    )


# ====================================================================== driver side
def _side(lib: str, workload: str, trials: int) -> dict | None:
    with temp_dir(f"autolog-{lib}") as cwd:
        env = clean_env(PYTHONWARNINGS="ignore", LABKEEP_DISABLE_GIT_CONTEXT="1")
        try:
            return run_json([__file__, "--worker", lib, workload, str(trials)], cwd, env, timeout=7200)
        except RuntimeError as e:
            print(f"{lib} {workload} failed: {e}", file=sys.stderr)
            return None


def _get(d: dict | None, key: str) -> float | None:
    return d.get(key) if d else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="sklearn,lightning")
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "WORKLOAD", "TRIALS"))
    args = parser.parse_args()
    if args.worker:
        lib, workload, trials = args.worker
        _quiet()
        emit(_sklearn(lib, int(trials)) if workload == "sklearn" else _lightning(lib, int(trials)))
        return
    sizes = QUICK if args.quick else FULL
    labels = {"sklearn": "sklearn fit (200 rows) autolog overhead", "lightning": "Lightning 100-step run autolog overhead"}
    measures = []
    for workload in [w for w in args.only.split(",") if w]:
        lk = _side("labkeep", workload, sizes["trials"])
        ml = _side("mlflow", workload, sizes["trials"])
        notes = {"labkeep": lk, "mlflow": ml}
        measures.append(Measure(labels[workload], "s", _get(lk, "overhead"), _get(ml, "overhead"), target=5, notes=notes))
    report("autolog", measures, {"quick": args.quick})


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
