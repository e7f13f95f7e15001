"""``labkeep.evaluate`` (mlflow.evaluate's shape) and ``labkeep.genai.evaluate`` (mlflow 3's shape).

``evaluate`` calls the model with DataFrames of rows (mlflow's convention); ``genai.evaluate``
calls ``predict_fn`` once per row (a trace per row). Both score the answers, log aggregate metrics to the run and the per-row results as a ``log_table`` artifact.
A row whose model call raises is kept with its error message and left out of the scores.
"""

from __future__ import annotations

import inspect
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.genai import metrics as M

MODEL_TYPES = ("text", "question-answering", "text-summarization")
_DEFAULT_METRICS = {
    "question-answering": ["exact_match", "bleu", "rouge"],
    "text-summarization": ["rouge", "bleu"],
    "text": ["exact_match", "bleu", "rouge"],
}
_TEXT_METRICS = {"exact_match", "bleu", "rouge"}


@dataclass
class EvaluationResult:
    """Aggregate ``metrics``, per-row ``tables`` (DataFrames) and the ``run_id`` they were logged to."""

    metrics: dict[str, float]
    tables: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def result_df(self) -> Any:
        return next(iter(self.tables.values()), None)


# ---------------------------------------------------------------- model outputs
def output_text(output: Any) -> str:
    """The text of a model's answer: a string, a dict with text/content, or a chat completion."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        for key in ("text", "content", "output", "response", "answer", "prediction"):
            if key in output and isinstance(output[key], str):
                return output[key]
        choices = output.get("choices")
        if choices:
            c = choices[0]
            msg = c.get("message") if isinstance(c, dict) else None
            if isinstance(msg, dict) and isinstance(msg.get("content"), str):
                return msg["content"]
            if isinstance(c, dict) and isinstance(c.get("text"), str):
                return c["text"]
    choices = getattr(output, "choices", None)
    if choices:
        msg = getattr(choices[0], "message", None)
        content = getattr(msg, "content", None)
        if isinstance(content, str):
            return content
    return str(output)


def output_usage(output: Any) -> tuple[int, int] | None:
    """(input tokens, output tokens) when the model reported usage."""
    usage = output.get("usage") if isinstance(output, dict) else getattr(output, "usage", None)
    if usage is None:
        return None
    get = usage.get if isinstance(usage, dict) else (lambda k, d=None: getattr(usage, k, d))
    inp = get("prompt_tokens", None)
    out = get("completion_tokens", None)
    if inp is None:
        inp, out = get("input_tokens", None), get("output_tokens", None)
    if inp is None or out is None:
        return None
    return int(inp), int(out)


def _to_dataframe(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, list):
        return pd.DataFrame(data)
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise InvalidParameterValue(
        "Evaluation data must be a pandas DataFrame, a list of row dicts or a dict of columns; "
        f"got {type(data).__name__}."
    )


DEFAULT_BATCH_SIZE = 1000


@dataclass
class _RowResult:
    raw: Any = None
    error: str | None = None
    exception: BaseException | None = None
    latency: float | None = None


def _resolve_model(model: Any) -> Any:
    """A model URI (``runs:/``, ``models:/``, a path) becomes the loaded pyfunc model."""
    if isinstance(model, str):
        from labkeep.pyfunc import load_model

        return load_model(model)
    if not callable(model) and getattr(model, "predict", None) is None:
        raise InvalidParameterValue(
            f"model must be a function, a pyfunc model (with predict) or a model URI; got {type(model).__name__}."
        )
    return model


def _invoke(model: Any, frame: Any) -> Any:
    """One call of the model on a DataFrame of inputs, as mlflow.evaluate makes it."""
    predict = getattr(model, "predict", None)
    if predict is not None and not inspect.isfunction(model):
        return predict(frame)
    return model(frame)


def _as_list(out: Any, n: int, predictions: str | None) -> list[Any]:
    """The model's batch output as one prediction per input row."""
    import numpy as np
    import pandas as pd

    if isinstance(out, pd.DataFrame):
        if predictions is not None and predictions in out.columns:
            out = out[predictions]
        elif len(out.columns) == 1:
            out = out.iloc[:, 0]
        else:
            cols = [c for c in ("outputs", "prediction", "predictions", "output") if c in out.columns]
            if not cols:
                raise InvalidParameterValue(
                    "The model returned a DataFrame with several columns "
                    f"({', '.join(map(str, out.columns))}); name the answer column with predictions=."
                )
            out = out[cols[0]]
    if isinstance(out, pd.Series):
        values = out.tolist()
    elif isinstance(out, np.ndarray):
        values = out.tolist() if out.ndim == 1 else [row for row in out.tolist()]
    elif isinstance(out, list | tuple):
        values = list(out)
    elif n == 1:
        values = [out]
    else:
        raise InvalidParameterValue(
            f"The model must return one prediction per row (a list, Series, array or DataFrame); "
            f"got {type(out).__name__} for {n} rows."
        )
    if len(values) != n:
        raise InvalidParameterValue(f"The model returned {len(values)} predictions for {n} input rows.")
    return values


def _predict_rows(
    model: Any, frame: Any, predictions: str | None, batch_size: int
) -> list[_RowResult]:
    """Call the model with whole batches of rows (mlflow's convention).

    A batch whose call fails is retried one row at a time, so each row keeps its own error.
    Latency of a batched call is shared equally by its rows.
    """
    results: list[_RowResult] = []
    for start in range(0, len(frame), batch_size):
        batch = frame.iloc[start : start + batch_size].reset_index(drop=True)
        t0 = time.perf_counter()
        try:
            values = _as_list(_invoke(model, batch), len(batch), predictions)
        except Exception:
            if len(batch) == 1:
                values = None
            else:
                results.extend(_predict_one_by_one(model, batch, predictions))
                continue
        if values is None:
            results.extend(_predict_one_by_one(model, batch, predictions))
            continue
        share = (time.perf_counter() - t0) / max(len(batch), 1)
        results.extend(_RowResult(raw=v, latency=share) for v in values)
    return results


def _predict_one_by_one(model: Any, batch: Any, predictions: str | None) -> list[_RowResult]:
    out = []
    for i in range(len(batch)):
        t0 = time.perf_counter()
        try:
            (value,) = _as_list(_invoke(model, batch.iloc[i : i + 1].reset_index(drop=True)), 1, predictions)
            out.append(_RowResult(raw=value, latency=time.perf_counter() - t0))
        except Exception as exc:
            out.append(
                _RowResult(
                    error=f"{type(exc).__name__}: {exc}", exception=exc, latency=time.perf_counter() - t0
                )
            )
    return out


def _report_failures(results: list[_RowResult]) -> None:
    """All rows failed: raise with the first error. Some failed: warn with the count and first error."""
    failed = [r for r in results if r.error is not None]
    if not failed:
        return
    first = failed[0]
    if len(failed) == len(results):
        raise LabkeepException(
            f"The model failed on every one of the {len(results)} evaluation rows; first error: {first.error}",
            error_code="INVALID_PARAMETER_VALUE",
        ) from first.exception
    warnings.warn(
        f"The model failed on {len(failed)} of {len(results)} evaluation rows (kept in the results "
        f"table with their errors); first error: {first.error}",
        stacklevel=3,
    )


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


# ---------------------------------------------------------------- custom metrics
class _RowMetric:
    """A user metric called once per row, or once for all rows (plural parameter names)."""

    def __init__(self, obj: Any) -> None:
        from labkeep.genai.scorers import Scorer

        self.obj = obj
        self.is_scorer = isinstance(obj, Scorer)
        self.name = getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
        self.batch = False
        self.params: list[str] = []
        if not self.is_scorer:
            if not callable(obj):
                raise InvalidParameterValue(
                    f"extra_metrics entries must be functions or scorers, got {obj!r}."
                )
            try:
                self.params = list(inspect.signature(obj).parameters)
            except (TypeError, ValueError):
                self.params = ["prediction", "target"]
            self.batch = any(p in ("predictions", "targets") for p in self.params)

    def row_kwargs(self, inputs: Any, prediction: Any, target: Any, row: dict[str, Any]) -> dict[str, Any]:
        values = {
            "inputs": inputs,
            "input": inputs,
            "prediction": prediction,
            "output": prediction,
            "outputs": prediction,
            "target": target,
            "expected": target,
            "targets": target,
            "expectations": target,
            "row": row,
        }
        if not self.params:
            return {}
        return {p: values.get(p) for p in self.params if p in values}


def _feedback_parts(result: Any) -> tuple[Any, str | None, str | None]:
    """(value, rationale, error) of a scorer or metric result."""
    from labkeep.genai.scorers import Feedback

    if isinstance(result, Feedback):
        return result.value, result.rationale, result.error
    return result, None, None


def _numeric(v: Any) -> float | None:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float) and not _nan(v):
        return float(v)
    if isinstance(v, str) and v.strip().lower() in ("yes", "no", "pass", "fail", "true", "false"):
        return 1.0 if v.strip().lower() in ("yes", "pass", "true") else 0.0
    return None


# ---------------------------------------------------------------- mlflow.evaluate shape
def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: str | None = None,
    predictions: str | None = None,
    extra_metrics: Sequence[Any] | None = None,
    evaluator_config: dict[str, Any] | None = None,
    feature_names: Sequence[str] | None = None,
    input_column: str | None = None,
    price_per_1k_input_tokens: float | None = None,
    price_per_1k_output_tokens: float | None = None,
    run_id: str | None = None,
    table_artifact: str = "eval_results_table.json",
    dataset_name: str | None = None,
    **_ignored: Any,
) -> EvaluationResult:
    """Run ``model`` on ``data`` and log text metrics to the active run (or a new one).

    As in mlflow.evaluate, ``model`` (a function, a pyfunc model or a model URI) is called with a
    DataFrame of the input columns (all rows at once; ``evaluator_config["batch_size"]`` rows at a
    time for large data, 1000 by default) and returns one prediction per row (list, Series, array
    or DataFrame). A batch whose call raises is retried row by row: when every row fails the
    first error is raised, when some fail a warning gives their count and the first error and the
    table keeps each row's error. ``targets`` names the column of expected answers;
    ``predictions`` names a column of ready answers when there is no model (or the answer column
    of a model that returns a DataFrame). Logged: ``exact_match/v1``, ``bleu/v1/mean``, ``rouge1|rouge2|rougeL/v1/mean`` (with
    targets), ``token_count/mean``, ``input_token_count/mean``, ``latency/mean`` and ``/p90``
    (seconds per call), ``cost/total`` and ``cost/mean`` when prices per 1k tokens are given,
    ``error_count``, each extra metric's ``<name>/mean``; per-row results go to ``table_artifact``.
    """
    if model_type is not None and model_type not in MODEL_TYPES:
        raise InvalidParameterValue(
            f"model_type must be one of {', '.join(MODEL_TYPES)}; got {model_type!r}."
        )
    if data is None:
        raise InvalidParameterValue("evaluate() needs data (a DataFrame with one row per example).")
    df = _to_dataframe(data)
    columns = list(df.columns)
    if targets is not None and targets not in columns:
        raise InvalidParameterValue(
            f"The evaluation data has no target column '{targets}'; columns are: {', '.join(map(str, columns))}."
        )
    if model is None and predictions is None:
        raise InvalidParameterValue("Pass a model (function) or the name of a predictions column.")
    if model is None and predictions not in columns:
        raise InvalidParameterValue(
            f"The evaluation data has no predictions column '{predictions}'; columns are: "
            f"{', '.join(map(str, columns))}."
        )
    if input_column is not None:
        if input_column not in columns:
            raise InvalidParameterValue(f"The evaluation data has no input column '{input_column}'.")
        feature_cols = [input_column]
    elif feature_names:
        missing = [c for c in feature_names if c not in columns]
        if missing:
            raise InvalidParameterValue(f"feature_names not in the data: {', '.join(missing)}.")
        feature_cols = list(feature_names)
    else:
        feature_cols = [c for c in columns if c != targets and (model is not None or c != predictions)]
    if model is not None and not feature_cols:
        raise InvalidParameterValue("The evaluation data has no input column besides the targets.")
    cfg = dict(evaluator_config or {})
    wanted = list(cfg.get("metrics") or _DEFAULT_METRICS.get(model_type or "text", []))
    unknown = [m for m in wanted if m not in _TEXT_METRICS]
    if unknown:
        raise InvalidParameterValue(
            f"Unknown built-in metrics {unknown}; choose from {sorted(_TEXT_METRICS)}."
        )
    text_metrics = wanted if targets is not None else []
    if {"bleu", "rouge"} & set(text_metrics):  # fail before running the model when the extra is missing
        if "bleu" in text_metrics:
            M.bleu("a", "a")
        if "rouge" in text_metrics:
            M.rouge("a", "a")
    metrics_fns = [_RowMetric(m) for m in extra_metrics or []]
    _check_judges(extra_metrics or [])
    in_price = price_per_1k_input_tokens
    out_price = price_per_1k_output_tokens

    records = df.to_dict("records")
    results: list[_RowResult] = []
    if model is not None:
        model = _resolve_model(model)
        batch_size = int(cfg.get("batch_size", DEFAULT_BATCH_SIZE))
        if batch_size < 1:
            raise InvalidParameterValue(f"evaluator_config batch_size must be >= 1; got {batch_size}.")
        results = _predict_rows(model, df[feature_cols], predictions, batch_size)
        _report_failures(results)
    rows: list[dict[str, Any]] = []
    preds_ok: list[str] = []
    targets_ok: list[str] = []
    for i, rec in enumerate(records):
        inputs = rec[feature_cols[0]] if len(feature_cols) == 1 else {c: rec[c] for c in feature_cols}
        out: dict[str, Any] = {}
        if len(feature_cols) == 1:
            out[feature_cols[0]] = inputs
        else:
            out.update({c: rec[c] for c in feature_cols})
        error = None
        raw: Any = None
        latency = None
        if model is not None:
            raw, error, latency = results[i].raw, results[i].error, results[i].latency
        else:
            raw = rec[predictions]
        text = None if error else output_text(raw)
        out["outputs"] = text
        target = rec[targets] if targets is not None else None
        if targets is not None:
            out[targets] = target
        out["error"] = error
        out["latency"] = latency
        if text is not None:  # the row did not fail
            usage = output_usage(raw)
            in_tok, out_tok = (
                usage
                if usage
                else (M.count_tokens(inputs if isinstance(inputs, str) else inputs), M.count_tokens(text))
            )
            out["input_token_count"] = in_tok
            out["token_count"] = out_tok
            if in_price is not None or out_price is not None:
                out["cost"] = in_tok / 1000.0 * (in_price or 0.0) + out_tok / 1000.0 * (out_price or 0.0)
            if target is not None and not _nan(target):
                if "exact_match" in text_metrics:
                    out["exact_match"] = M.exact_match(text, target)
                if "bleu" in text_metrics:
                    out["bleu"] = M.bleu(text, target)
                if "rouge" in text_metrics:
                    out.update(M.rouge(text, target))
                preds_ok.append(text)
                targets_ok.append(str(target))
            for m in metrics_fns:
                if m.batch:
                    continue
                try:
                    if m.is_scorer:
                        result = m.obj(inputs=inputs, outputs=text, expectations=target, trace=None)
                    else:
                        result = m.obj(**m.row_kwargs(inputs, text, target, rec))
                    value, rationale, err = _feedback_parts(result)
                except Exception as exc:
                    value, rationale, err = None, None, f"{type(exc).__name__}: {exc}"
                _put_metric(out, m.name, value, rationale, err)
        rows.append(out)

    # batch metrics (plural parameters) see the rows that produced an answer
    ok_rows = [r for r in rows if r["error"] is None]
    batch_aggregates: dict[str, float] = {}
    for m in metrics_fns:
        if not m.batch:
            continue
        kwargs = {
            "predictions": [r["outputs"] for r in ok_rows],
            "targets": [r.get(targets) for r in ok_rows] if targets else None,
            "inputs": [
                r.get(feature_cols[0]) if len(feature_cols) == 1 else {c: r.get(c) for c in feature_cols}
                for r in ok_rows
            ],
        }
        result = m.obj(**{p: kwargs.get(p) for p in m.params if p in kwargs})
        if isinstance(result, list | tuple) and len(result) == len(ok_rows):
            for r, v in zip(ok_rows, result, strict=True):
                r[m.name] = v
        elif isinstance(result, dict):
            batch_aggregates.update(
                {f"{m.name}/{k}": float(v) for k, v in result.items() if _numeric(v) is not None}
            )
        elif _numeric(result) is not None:
            batch_aggregates[m.name] = float(_numeric(result))  # type: ignore[arg-type]

    agg = _aggregate(rows, text_metrics, metrics_fns, preds_ok, targets_ok)
    agg.update(batch_aggregates)
    import pandas as pd

    table = pd.DataFrame(rows)
    with _RunScope(run_id) as scope:
        rid = _log_results(scope.run_id, agg, table, table_artifact)  # type: ignore[arg-type]
        _log_dataset(scope.run_id, df, dataset_name, targets)  # type: ignore[arg-type]
    return EvaluationResult(
        metrics=agg,
        tables={"eval_results_table": table},
        run_id=rid,
        artifacts={"eval_results_table": table_artifact},
    )


def _check_judges(scorers: Sequence[Any]) -> None:
    """Resolve LLM judges' endpoints before running any row (a misconfiguration fails fast)."""
    for s in scorers:
        if getattr(s, "is_judge", False):
            s.judge  # noqa: B018


def _put_metric(out: dict[str, Any], name: str, value: Any, rationale: str | None, err: str | None) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            out[f"{name}/{k}" if k != name else name] = v
    else:
        out[name] = value
    if rationale is not None:
        out[f"{name}/rationale"] = rationale
    if err is not None:
        out[f"{name}/error"] = err


def _aggregate(
    rows: list[dict[str, Any]],
    text_metrics: list[str],
    metrics_fns: list[_RowMetric],
    preds_ok: list[str],
    targets_ok: list[str],
) -> dict[str, float]:
    agg: dict[str, float] = {}

    def col(name: str) -> list[float]:
        out = []
        for r in rows:
            v = _numeric(r.get(name))
            if v is not None:
                out.append(v)
        return out

    lat = col("latency")
    if lat:
        agg["latency/mean"] = M.mean(lat)
        agg["latency/p90"] = M.percentile(lat, 90)
    for key in ("token_count", "input_token_count"):
        vals = col(key)
        if vals:
            agg[f"{key}/mean"] = M.mean(vals)
            agg[f"{key}/total"] = float(sum(vals))
    cost = col("cost")
    if cost:
        agg["cost/total"] = float(sum(cost))
        agg["cost/mean"] = M.mean(cost)
    if "exact_match" in text_metrics and col("exact_match"):
        agg["exact_match/v1"] = M.mean(col("exact_match"))
    if "bleu" in text_metrics and col("bleu"):
        agg["bleu/v1/mean"] = M.mean(col("bleu"))
        agg["bleu/v1/corpus"] = M.corpus_bleu(preds_ok, targets_ok)
    if "rouge" in text_metrics:
        for k in ("rouge1", "rouge2", "rougeL"):
            vals = col(k)
            if vals:
                agg[f"{k}/v1/mean"] = M.mean(vals)
                agg[f"{k}/v1/p90"] = M.percentile(vals, 90)
    names: set[str] = set()
    for m in metrics_fns:
        for r in rows:
            names.update(
                k
                for k in r
                if k == m.name or (k.startswith(m.name + "/") and not k.endswith(("/rationale", "/error")))
            )
    for name in sorted(names):
        vals = col(name)
        if vals:
            agg[f"{name}/mean"] = M.mean(vals)
        errs = sum(1 for r in rows if r.get(f"{name}/error"))
        if errs:
            agg[f"{name}/error_count"] = float(errs)
    agg["error_count"] = float(sum(1 for r in rows if r.get("error")))
    agg["row_count"] = float(len(rows))
    return {k: v for k, v in agg.items() if not _nan(v)}


class _RunScope:
    """The run results go to: ``run_id``, else the active run, else a new run ended afterwards."""

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.experiment_id: str | None = None
        self._started = False

    def __enter__(self) -> _RunScope:
        from labkeep import fluent

        if self.run_id is None:
            active = fluent.active_run()
            if active is None:
                run = fluent.start_run()
                self._started = True
            else:
                run = active
            self.run_id = run.info.run_id
            self.experiment_id = str(run.info.experiment_id)
        else:
            from labkeep.client import Client

            self.experiment_id = str(Client().get_run(self.run_id).info.experiment_id)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        if self._started:
            from labkeep import fluent

            fluent.end_run("FINISHED" if exc is None else "FAILED")
        return False


def _log_results(run_id: str, agg: dict[str, float], table: Any, artifact_file: str) -> str:
    from labkeep.client import Client
    from labkeep.entities import Metric
    from labkeep.utils.clock import now_ms

    client = Client()
    ts = now_ms()
    client.log_batch(run_id, metrics=[Metric(k, float(v), ts, 0) for k, v in agg.items()])
    client.log_table(run_id, _jsonable(table), artifact_file)
    return run_id


def _log_dataset(run_id: str, df: Any, name: str | None, targets: str | None) -> None:
    """Record the evaluation data as a run input (context ``evaluation``), as mlflow.evaluate does."""
    import hashlib

    from labkeep.client import Client
    from labkeep.entities import Dataset, DatasetInput, InputTag

    digest_src = df.to_json(orient="split", index=False, default_handler=str).encode()
    schema = {"mlflow_colspec": [{"name": str(c), "type": str(df[c].dtype)} for c in df.columns]}
    dataset = Dataset(
        name=name or "evaluation_data",
        digest=hashlib.sha256(digest_src).hexdigest()[:8],
        source_type="code",
        source=json.dumps({"rows": len(df), "targets": targets}),
        schema=json.dumps(schema),
        profile=json.dumps({"num_rows": len(df)}),
    )
    Client().log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "evaluation")])])


def _jsonable(table: Any) -> Any:
    """Cells that JSON cannot hold as such (dicts, lists) become JSON text."""
    import json

    def cell(v: Any) -> Any:
        if isinstance(v, dict | list | tuple):
            return json.dumps(v, default=str)
        return v

    return table.apply(lambda s: s.map(cell)) if len(table) else table


# ---------------------------------------------------------------- mlflow.genai.evaluate shape
def genai_evaluate(
    data: Any,
    predict_fn: Callable[..., Any] | None = None,
    scorers: Sequence[Any] | None = None,
    model_id: str | None = None,
    run_id: str | None = None,
    table_artifact: str = "eval_results.json",
) -> EvaluationResult:
    """Evaluate rows of ``{"inputs": {...}, "outputs"?: ..., "expectations"?: {...}}``.

    ``predict_fn(**inputs)`` produces each row's outputs (a trace is recorded per row); each scorer
    grades each row and its verdict is stored as feedback on the row's trace. Aggregates
    ``<scorer>/mean`` go to the run; the per-row table to ``table_artifact``.
    """
    from labkeep.genai.scorers import as_scorer

    df = _to_dataframe(data)
    if "inputs" not in df.columns and predict_fn is not None:
        raise InvalidParameterValue(
            f"genai.evaluate data needs an 'inputs' column (a dict per row); columns are: {', '.join(map(str, df.columns))}."
        )
    if predict_fn is None and "outputs" not in df.columns and "trace" not in df.columns:
        raise InvalidParameterValue("Pass predict_fn, or data with an 'outputs' column.")
    scorer_objs = [as_scorer(s) for s in scorers or []]
    _check_judges(scorer_objs)
    if not scorer_objs:
        raise InvalidParameterValue("genai.evaluate needs at least one scorer.")
    with _RunScope(run_id) as scope:
        return _genai_evaluate(df, predict_fn, scorer_objs, scope, table_artifact)


def _genai_evaluate(
    df: Any,
    predict_fn: Callable[..., Any] | None,
    scorer_objs: list[Any],
    scope: _RunScope,
    table_artifact: str,
) -> EvaluationResult:
    from labkeep.genai.tracing import fluent as tracing

    fn_name = getattr(predict_fn, "__name__", "predict") if predict_fn else "evaluate_row"
    captured: list[tuple[Any, list[dict[str, Any]], list[Any]]] = []
    rows: list[dict[str, Any]] = []
    for rec in df.to_dict("records"):
        inputs = rec.get("inputs")
        expectations = rec.get("expectations")
        if isinstance(expectations, float) and math.isnan(expectations):
            expectations = None
        error = None
        with tracing.capture_trace(fn_name, "CHAIN") as cap:
            cap.span.set_inputs(inputs)
            t0 = time.perf_counter()
            if predict_fn is not None:
                try:
                    outputs = predict_fn(**inputs) if isinstance(inputs, dict) else predict_fn(inputs)
                except Exception as exc:
                    outputs = None
                    error = f"{type(exc).__name__}: {exc}"
                    cap.span.record_exception(exc)
            else:
                outputs = rec.get("outputs")
            latency = time.perf_counter() - t0
            cap.span.set_outputs(outputs)
        out: dict[str, Any] = {
            "trace_id": cap.info.trace_id,
            "inputs": inputs,
            "outputs": outputs,
            "expectations": expectations,
            "latency": latency,
            "error": error,
        }
        assessments = []
        if error is None:
            for s in scorer_objs:
                try:
                    value, rationale, err = _feedback_parts(
                        s(inputs=inputs, outputs=outputs, expectations=expectations, trace=None)
                    )
                except Exception as exc:
                    value, rationale, err = None, None, f"{type(exc).__name__}: {exc}"
                _put_metric(out, s.name, value, rationale, err)
                assessments.append((s, value, rationale, err))
        captured.append((cap.info, cap.spans, assessments))
        rows.append(out)

    _store_eval_traces(captured, scope.experiment_id, scope.run_id)
    agg: dict[str, float] = {}
    names = sorted(
        {
            k
            for r in rows
            for k in r
            if any(k == s.name or k.startswith(s.name + "/") for s in scorer_objs)
            and not k.endswith(("/rationale", "/error"))
        }
    )
    for name in names:
        vals = [v for v in (_numeric(r.get(name)) for r in rows) if v is not None]
        if vals:
            agg[f"{name}/mean"] = M.mean(vals)
    lat = [r["latency"] for r in rows]
    if lat:
        agg["latency/mean"] = M.mean(lat)
        agg["latency/p90"] = M.percentile(lat, 90)
    agg["error_count"] = float(sum(1 for r in rows if r["error"]))
    import pandas as pd

    table = pd.DataFrame(rows)
    rid = _log_results(scope.run_id, agg, table, table_artifact)  # type: ignore[arg-type]
    return EvaluationResult(
        metrics=agg, tables={"eval_results": table}, run_id=rid, artifacts={"eval_results": table_artifact}
    )


def _store_eval_traces(
    captured: list[tuple[Any, list[dict[str, Any]], list[Any]]], experiment_id: Any, run_id: str | None
) -> None:
    """All rows' traces and their feedback in one store call (one transaction on SQL stores)."""
    from labkeep.genai.tracing.entities import Assessment
    from labkeep.stores import get_trace_store
    from labkeep.utils.clock import now_ms

    if not captured:
        return
    now = now_ms()
    items = []
    for info, spans, results in captured:
        info.experiment_id = experiment_id
        if run_id:
            info.trace_metadata["mlflow.sourceRun"] = run_id
        for s, value, rationale, err in results:
            info.assessments.append(
                Assessment(
                    name=s.name,
                    trace_id=info.trace_id,
                    value=value if not isinstance(value, dict) else value,
                    rationale=rationale,
                    source_type="LLM_JUDGE" if getattr(s, "is_judge", False) else "CODE",
                    source_id=s.name,
                    create_time_ms=now,
                    error={"error_message": err} if err else None,
                )
            )
        items.append((info, spans))
    get_trace_store().log_traces(items)
