"""GenAI benchmarks: tracing overhead per span and evaluation overhead per row, labkeep vs mlflow 3.17.2.

    .venv/bin/python bench/bench_genai.py            # full sizes
    .venv/bin/python bench/bench_genai.py --quick    # small sizes, a smoke run

Each side runs in a fresh subprocess in a new temporary directory with its default local store
(labkeep: ``labkeep.db``; mlflow: ``sqlite:///mlflow.db``). Workloads:

* ``trace``: a ``@trace``-decorated no-op function called N times (one single-span trace per
  call); time per call including the store write (mlflow: async export, flushed at the end).
  A second row runs labkeep with ``LABKEEP_ASYNC_TRACE_LOGGING=true`` (background batched
  export, flushed before the clock stops), mlflow's default mode.
* ``evaluate``: ``evaluate()`` of a trivial model (returns its input) over 1,000 rows with
  an exact-match metric and a target column (mlflow: ``mlflow.evaluate`` with the same metric
  via ``make_metric``; its built-in QA metrics need ``tiktoken`` encodings from the internet);
  total time / rows.
* ``genai_evaluate``: ``genai.evaluate(data, predict_fn, scorers=[exact])`` in mlflow 3's shape
  (one trace and one feedback per row on both sides); total time / rows. mlflow runs with
  ``MLFLOW_GENAI_EVAL_MAX_WORKERS=1``: its default 10 workers contend for the SQLite file and
  were slower here.

pandas is imported before timing on both sides (``import mlflow`` loads it anyway).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Measure, clean_env, emit, report, run_json, temp_dir  # noqa: E402

FULL = dict(trace_labkeep=5000, trace_mlflow=300, evaluate=1000, genai=200)
QUICK = dict(trace_labkeep=500, trace_mlflow=50, evaluate=200, genai=30)
TARGET = 5.0


# ====================================================================== worker side
def _worker(lib: str, workload: str, n: int) -> None:
    import logging
    import warnings

    import pandas  # noqa: F401 - both sides start with pandas loaded (mlflow imports it anyway)

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    if lib == "labkeep":
        import labkeep as mlf
    else:
        import mlflow as mlf

        mlf.set_tracking_uri("sqlite:///mlflow.db")
    mlf.set_experiment("bench-genai")
    if workload == "trace":
        emit({"seconds_per_call": _trace(mlf, lib, n)})
    elif workload == "evaluate":
        emit({"seconds_per_row": _evaluate(mlf, lib, n)})
    elif workload == "genai_evaluate":
        emit({"seconds_per_row": _genai_evaluate(mlf, lib, n)})


def _flush(mlf, lib: str) -> None:
    if lib == "mlflow":
        mlf.flush_trace_async_logging()


def _trace(mlf, lib: str, n: int) -> float:
    @mlf.trace
    def noop(x):
        return x

    for i in range(20):  # warm up: store opened, schema ready, code paths imported
        noop(i)
    _flush(mlf, lib)
    t0 = time.perf_counter()
    for i in range(n):
        noop(i)
    _flush(mlf, lib)
    elapsed = time.perf_counter() - t0
    found = mlf.search_traces(max_results=n + 100, return_type="list")
    assert len(found) == n + 20, f"{lib} stored {len(found)} traces, expected {n + 20}"
    return elapsed / n


def _evaluate(mlf, lib: str, n: int) -> float:
    import pandas as pd

    df = pd.DataFrame(
        {"inputs": [f"question {i}" for i in range(n)], "ground_truth": [f"question {i}" for i in range(n)]}
    )
    t0 = time.perf_counter()
    with mlf.start_run():
        if lib == "labkeep":
            res = mlf.evaluate(
                lambda q: q,
                data=df,
                targets="ground_truth",
                model_type="question-answering",
                evaluator_config={"metrics": ["exact_match"]},
            )
            value = res.metrics["exact_match/v1"]
        else:
            from mlflow.metrics import MetricValue
            from mlflow.models import make_metric

            def exact(predictions, targets, metrics):
                scores = [float(p == t) for p, t in zip(predictions, targets, strict=True)]
                return MetricValue(scores=scores, aggregate_results={"mean": sum(scores) / len(scores)})

            res = mlf.evaluate(
                model=lambda d: d["inputs"],
                data=df,
                targets="ground_truth",
                extra_metrics=[make_metric(eval_fn=exact, greater_is_better=True, name="exact")],
                evaluators="default",
            )
            value = res.metrics["exact/mean"]
    elapsed = time.perf_counter() - t0
    assert value == 1.0, value
    return elapsed / n


def _genai_evaluate(mlf, lib: str, n: int) -> float:
    if lib == "labkeep":
        from labkeep.genai.scorers import scorer
    else:
        from mlflow.genai.scorers import scorer

    @scorer
    def exact(outputs, expectations):
        return outputs == expectations["expected_response"]

    data = [{"inputs": {"q": f"q{i}"}, "expectations": {"expected_response": f"q{i}"}} for i in range(n)]
    t0 = time.perf_counter()
    res = mlf.genai.evaluate(data=data, predict_fn=lambda q: q, scorers=[exact])
    elapsed = time.perf_counter() - t0
    assert float(res.metrics["exact/mean"]) == 1.0, res.metrics
    return elapsed / n


# ====================================================================== driver side
def _side(lib: str, workload: str, n: int, **extra_env: str) -> dict:
    env = clean_env(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_GENAI_EVAL_MAX_WORKERS="1", **extra_env)
    with temp_dir(f"genai-{lib}") as cwd:
        return run_json([__file__, "--worker", lib, workload, str(n)], cwd, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "WORKLOAD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        lib, workload, n = args.worker
        _worker(lib, workload, int(n))
        return
    sizes = QUICK if args.quick else FULL
    measures = []
    lk = _side("labkeep", "trace", sizes["trace_labkeep"])["seconds_per_call"]
    ml = _side("mlflow", "trace", sizes["trace_mlflow"])["seconds_per_call"]
    measures.append(
        Measure(
            "@trace no-op, per span (local store)",
            "s",
            lk,
            ml,
            target=TARGET,
            notes={"calls_labkeep": sizes["trace_labkeep"], "calls_mlflow": sizes["trace_mlflow"]},
        )
    )
    lk_async = _side("labkeep", "trace", sizes["trace_labkeep"], LABKEEP_ASYNC_TRACE_LOGGING="true")
    measures.append(
        Measure(
            "@trace no-op, per span, both async export",
            "s",
            lk_async["seconds_per_call"],
            ml,
            target=TARGET,
            notes={"calls_labkeep": sizes["trace_labkeep"], "calls_mlflow": sizes["trace_mlflow"]},
        )
    )
    n = sizes["evaluate"]
    lk = _side("labkeep", "evaluate", n)["seconds_per_row"]
    ml = _side("mlflow", "evaluate", n)["seconds_per_row"]
    measures.append(Measure(f"evaluate(), per row ({n} rows)", "s", lk, ml, target=TARGET, notes={"rows": n}))
    n = sizes["genai"]
    lk = _side("labkeep", "genai_evaluate", n)["seconds_per_row"]
    ml = _side("mlflow", "genai_evaluate", n)["seconds_per_row"]
    measures.append(
        Measure(f"genai.evaluate(), per row ({n} rows)", "s", lk, ml, target=TARGET, notes={"rows": n})
    )
    report("genai", measures, {"quick": args.quick})


if __name__ == "__main__":
    main()
