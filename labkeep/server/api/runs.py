"""Run endpoints (``/api/2.0/mlflow/runs/...`` and ``metrics/...``)."""

from __future__ import annotations

import math
from typing import Any

from labkeep.entities import DatasetInput, LoggedModelInput, LoggedModelOutput, Metric, Param, RunTag
from labkeep.entities.tracking import float_from_json
from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest, invalid_value, missing_value
from labkeep.server.api.experiments import tags_from, view_type

MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_TOTAL = 1000
MAX_BATCH_BYTES = 1_000_000


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int_field(d: dict[str, Any], name: str, prefix: str = "", required: bool = False, default: int = 0) -> int:
    value = d.get(name)
    if value is None:
        if required:
            raise missing_value(prefix + name)
        return default
    if isinstance(value, bool):
        raise invalid_value(prefix + name, value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidParameterValue(f"Parameter '{prefix + name}' is out of the 64-bit integer range.")
        return value
    raise invalid_value(prefix + name, value)


def metric_from(d: dict[str, Any], prefix: str = "") -> Metric:
    """A Metric from its JSON object, with mlflow's validation messages (fields named
    ``prefix + field``, e.g. ``metrics[0].timestamp``)."""
    # Fast path for the common, well-formed shape (log-batch sends up to 1000 of these).
    if type(d) is dict:
        value: Any  # checked by exact type below
        key, value, ts, step = d.get("key"), d.get("value"), d.get("timestamp"), d.get("step", 0)
        if (
            type(key) is str
            and key
            and type(value) in (float, int)
            and type(ts) is int
            and type(step) is int
            and INT64_MIN <= ts <= INT64_MAX
            and INT64_MIN <= step <= INT64_MAX
            and d.keys() <= _PLAIN_METRIC_KEYS
        ):
            return Metric(key, float(value), ts, step)
    return _metric_from_slow(d, prefix)


_PLAIN_METRIC_KEYS = frozenset({"key", "value", "timestamp", "step", "run_id", "run_uuid"})


def _metric_from_slow(d: dict[str, Any], prefix: str = "") -> Metric:
    if not isinstance(d, dict):
        raise invalid_value(prefix.rstrip(".") or "metric", d)
    key = d.get("key")
    if key is None or key == "":
        raise missing_value(prefix + "key")
    if not isinstance(key, str):
        raise invalid_value(prefix + "key", key)
    if "value" not in d or d["value"] is None:
        raise missing_value(prefix + "value")
    try:
        value = float_from_json(d["value"])
    except (TypeError, ValueError):
        raise invalid_value(prefix + "value", d["value"])
    if isinstance(d["value"], str) and not math.isnan(value) and not math.isinf(value):
        # the reference accepts numbers only; strings just for the NaN/Infinity spellings
        try:
            float(d["value"])
        except ValueError:
            raise invalid_value(prefix + "value", d["value"])
    timestamp = _int_field(d, "timestamp", prefix, required=True)
    step = _int_field(d, "step", prefix, default=0)
    return Metric(
        key=key,
        value=value,
        timestamp=timestamp,
        step=step,
        model_id=_opt_str(d, "model_id", prefix),
        dataset_name=_opt_str(d, "dataset_name", prefix),
        dataset_digest=_opt_str(d, "dataset_digest", prefix),
    )


def _opt_str(d: dict[str, Any], name: str, prefix: str = "") -> str | None:
    value = d.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_value(prefix + name, value)
    return value


def params_from(items: list[dict[str, Any]], name: str = "params") -> list[Param]:
    out = []
    for i, p in enumerate(items):
        key = p.get("key")
        if key is None or key == "":
            raise missing_value(f"{name}[{i}].key")
        if not isinstance(key, str):
            raise invalid_value(f"{name}[{i}].key", key)
        value = p.get("value", "")
        if value is None:
            value = ""
        if isinstance(value, dict | list) or isinstance(value, bool):
            raise invalid_value(f"{name}[{i}].value", value)
        out.append(Param(key, str(value)))
    return out


def create_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_id = req.get_str("experiment_id") or "0"
    if not exp_id.isdigit():
        raise InvalidParameterValue(f"Invalid experiment_id {exp_id!r}: must be an integer id.")
    run = ctx.tracking_store.create_run(
        experiment_id=exp_id,
        user_id=req.get_str("user_id") or "",
        start_time=req.get_int("start_time"),
        tags=tags_from(req),
        run_name=req.get_str("run_name") or None,
    )
    return {"run": run.to_dict()}


def update_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    status = req.raw("status")
    if status is not None:
        from labkeep.entities import RunStatus

        try:
            status = RunStatus.validate(status)
        except InvalidParameterValue:
            status = None  # reference: unknown enum names are ignored (proto parse fallback)
    info = ctx.tracking_store.update_run_info(
        run_id, status, req.get_int("end_time"), req.get_str("run_name") or None
    )
    return {"run_info": info.to_dict()}


def delete_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.delete_run(req.run_id())
    return {}


def restore_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.restore_run(req.run_id())
    return {}


def get_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"run": ctx.tracking_store.get_run(req.run_id()).to_dict()}


def search_runs(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    max_results = req.get_int("max_results", default=1000)
    if max_results is None or max_results < 1 or max_results > 50000:
        raise invalid_value("max_results", max_results, "It must be between 1 and 50000.")
    page = ctx.tracking_store.search_runs(
        experiment_ids=req.get_str_list("experiment_ids"),
        filter_string=req.get_str("filter") or "",
        run_view_type=view_type(req, "run_view_type"),
        max_results=max_results,
        order_by=req.get_str_list("order_by") or None,
        page_token=req.get_str("page_token") or None,
    )
    out: dict[str, Any] = {"runs": [r.to_dict() for r in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


def log_metric(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    body = dict(req.body) if req.body else {k: v[0] for k, v in req.query.items()}
    ctx.tracking_store.log_metric(run_id, metric_from(body))
    return {}


def log_param(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    key = req.get_str("key", required=True)
    ctx.tracking_store.log_param(run_id, Param(key, req.get_str("value") or ""))
    return {}


def set_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    key = req.get_str("key", required=True)
    ctx.tracking_store.set_tag(run_id, RunTag(key, req.get_str("value") or ""))
    return {}


def delete_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.delete_tag(req.run_id(), req.get_str("key", required=True))
    return {}


def log_batch(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    if req.body_size > MAX_BATCH_BYTES:
        raise InvalidParameterValue(
            f"log-batch request body exceeds {MAX_BATCH_BYTES} bytes; split the batch."
        )
    raw_metrics = req.get_dicts("metrics")
    raw_params = req.get_dicts("params")
    raw_tags = req.get_dicts("tags")
    if len(raw_metrics) > MAX_BATCH_METRICS:
        raise InvalidParameterValue(
            f"A batch logging request can have at most {MAX_BATCH_METRICS} metrics, got {len(raw_metrics)}."
        )
    if len(raw_params) > MAX_BATCH_PARAMS:
        raise InvalidParameterValue(
            f"A batch logging request can have at most {MAX_BATCH_PARAMS} params, got {len(raw_params)}."
        )
    if len(raw_tags) > MAX_BATCH_TAGS:
        raise InvalidParameterValue(
            f"A batch logging request can have at most {MAX_BATCH_TAGS} tags, got {len(raw_tags)}."
        )
    total = len(raw_metrics) + len(raw_params) + len(raw_tags)
    if total > MAX_BATCH_TOTAL:
        raise InvalidParameterValue(
            f"A batch logging request can have at most {MAX_BATCH_TOTAL} metrics+params+tags, got {total}."
        )
    params = params_from(raw_params)
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise InvalidParameterValue("Duplicate parameter keys in one log-batch request are not allowed.")
    metrics = [metric_from(m, f"metrics[{i}].") for i, m in enumerate(raw_metrics)]
    ctx.tracking_store.log_batch(run_id, metrics=metrics, params=params, tags=tags_from(req))
    return {}


def log_inputs(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    try:
        datasets = [DatasetInput.from_dict(d) for d in req.get_dicts("datasets")]
        models = [LoggedModelInput(str(m["model_id"])) for m in req.get_dicts("models")]
    except (KeyError, TypeError, AttributeError):
        raise InvalidParameterValue("Malformed 'datasets' or 'models' in log-inputs request.")
    ctx.tracking_store.log_inputs(run_id, datasets=datasets or None, models=models or None)
    return {}


def log_outputs(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    models = []
    for m in req.get_dicts("models", required=True):
        model_id = m.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            raise InvalidParameterValue("Each entry of 'models' needs a 'model_id'.")
        models.append(LoggedModelOutput(model_id, _int_field(m, "step", "models.")))
    ctx.tracking_store.log_outputs(run_id, models)
    return {}


def log_model_legacy(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """MLflow 2's ``runs/log-model``: record the model JSON in the legacy history tag."""
    import json

    run_id = req.run_id()
    model_json = req.get_str("model_json", required=True)
    try:
        model = json.loads(model_json)
    except ValueError:
        raise InvalidParameterValue("model_json is not valid JSON.")
    run = ctx.tracking_store.get_run(run_id)
    history = json.loads(run.data.tags.get("mlflow.log-model.history", "[]") or "[]")
    history.append(model)
    ctx.tracking_store.set_tag(run_id, RunTag("mlflow.log-model.history", json.dumps(history)))
    return {}


def get_metric_history(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    key = req.get_str("metric_key", required=True)
    max_results = req.get_int("max_results")
    page = ctx.tracking_store.get_metric_history(
        run_id, key, max_results=max_results or None, page_token=req.get_str("page_token") or None
    )
    out: dict[str, Any] = {"metrics": [m.to_dict() for m in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


def _history(ctx: ApiContext, run_id: str, key: str) -> list[Any]:
    return list(ctx.tracking_store.get_metric_history(run_id, key))


def _bulk_dicts(run_id: str, points: list[Any]) -> list[dict[str, Any]]:
    out = []
    for p in points:
        d = p.to_dict()
        d["run_id"] = run_id
        out.append(d)
    return out


def get_metric_history_bulk(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Histories of one metric for up to 100 runs, grouped by run id, each in time order."""
    run_ids = req.get_str_list("run_id") or req.get_str_list("run_ids")
    if not run_ids:
        raise InvalidParameterValue("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(run_ids) > 100:
        raise InvalidParameterValue(
            f"GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received {len(run_ids)} run_ids."
        )
    key = req.get_str("metric_key")
    if not key:
        raise InvalidParameterValue("GetMetricHistoryBulk request must specify a metric_key.")
    max_results = req.get_int("max_results", default=25000) or 25000
    if max_results < 1:
        raise invalid_value("max_results", max_results)
    max_results = min(max_results, 25000)
    out: list[dict[str, Any]] = []
    for run_id in sorted(set(run_ids)):
        points = _history(ctx, run_id, key)
        points.sort(key=lambda p: (p.timestamp, p.step, p.value))
        out += _bulk_dicts(run_id, points[: max_results - len(out)])
        if len(out) >= max_results:
            break
    return {"metrics": out}


def get_metric_history_bulk_interval(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Points of one metric at evenly spaced steps (plus each run's first and last step)."""
    run_ids = req.get_str_list("run_ids")
    if not run_ids:
        raise missing_value("run_ids")
    if len(run_ids) > 100:
        raise InvalidParameterValue("GetMetricHistoryBulkInterval request must specify at most 100 run_ids.")
    key = req.get_str("metric_key", required=True)
    start, end = req.get_int("start_step"), req.get_int("end_step")
    max_results = req.get_int("max_results", default=2500)
    if max_results is None or not 1 <= max_results <= 2500:
        raise InvalidParameterValue(f"max_results must be between 1 and 2500, got {max_results}.")
    if (start is None) != (end is None):
        raise InvalidParameterValue("If either start step or end step are specified, both must be specified.")
    if start is not None and end is not None and start > end:
        raise InvalidParameterValue(f"end_step must be greater than start_step. Found start_step={start}, end_step={end}.")
    histories = []
    for run_id in run_ids:
        points = _history(ctx, run_id, key)
        if start is not None and end is not None:
            points = [p for p in points if start <= p.step <= end]
        histories.append((run_id, points))
    all_steps = sorted({p.step for _, points in histories for p in points})
    stride = max(1, len(all_steps) // max_results)
    wanted = set(all_steps[::stride])
    for _, points in histories:
        if points:
            wanted.add(min(p.step for p in points))
            wanted.add(max(p.step for p in points))
    out: list[dict[str, Any]] = []
    for run_id, points in histories:
        chosen = sorted((p for p in points if p.step in wanted), key=lambda p: (p.step, p.timestamp, p.value))
        out += _bulk_dicts(run_id, chosen)
    return {"metrics": out}
