"""Run endpoints (``/api/2.0/mlflow/runs/...`` and ``metrics/...``)."""

from __future__ import annotations

import math
from typing import Any

from labkeep.entities import DatasetInput, LoggedModelInput, LoggedModelOutput, Metric, Param, RunTag
from labkeep.entities.tracking import float_from_json
from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.server.api.experiments import tags_from, view_type

MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_TOTAL = 1000
MAX_BATCH_BYTES = 1_000_000


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int_field(d: dict[str, Any], name: str, what: str, required: bool = False, default: int = 0) -> int:
    value = d.get(name)
    if value is None:
        if required:
            raise InvalidParameterValue(f"Missing value for required parameter '{name}' of {what}.")
        return default
    if isinstance(value, bool):
        raise InvalidParameterValue(f"Parameter '{name}' of {what} must be an integer.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidParameterValue(f"Parameter '{name}' of {what} is out of the 64-bit integer range.")
        return value
    raise InvalidParameterValue(f"Parameter '{name}' of {what} must be an integer, got {str(value)[:100]!r}.")


def metric_from(d: dict[str, Any]) -> Metric:
    """A Metric from its JSON object, with the reference's validation messages."""
    # Fast path for the common, well-formed shape (log-batch sends up to 1000 of these).
    if type(d) is dict:
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
    return _metric_from_slow(d)


_PLAIN_METRIC_KEYS = frozenset({"key", "value", "timestamp", "step", "run_id", "run_uuid"})


def _metric_from_slow(d: dict[str, Any]) -> Metric:
    if not isinstance(d, dict):
        raise InvalidParameterValue("Each metric must be a JSON object.")
    key = d.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue("Missing value for required parameter 'key' of metric.")
    if "value" not in d or d["value"] is None:
        raise InvalidParameterValue(f"Missing value for required parameter 'value' of metric {key!r}.")
    try:
        value = float_from_json(d["value"])
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Metric {key!r} value must be a number, got {d['value']!r}.")
    if isinstance(d["value"], str) and not math.isnan(value) and not math.isinf(value):
        # the reference accepts numbers only; strings just for the NaN/Infinity spellings
        try:
            float(d["value"])
        except ValueError:
            raise InvalidParameterValue(f"Metric {key!r} value must be a number, got {d['value']!r}.")
    timestamp = _int_field(d, "timestamp", f"metric {key!r}", required=True)
    step = _int_field(d, "step", f"metric {key!r}", default=0)
    return Metric(
        key=key,
        value=value,
        timestamp=timestamp,
        step=step,
        model_id=_opt_str(d, "model_id"),
        dataset_name=_opt_str(d, "dataset_name"),
        dataset_digest=_opt_str(d, "dataset_digest"),
    )


def _opt_str(d: dict[str, Any], name: str) -> str | None:
    value = d.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameterValue(f"Parameter '{name}' must be a string.")
    return value


def params_from(items: list[dict[str, Any]]) -> list[Param]:
    out = []
    for p in items:
        key = p.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidParameterValue("Missing value for required parameter 'key' of param.")
        value = p.get("value", "")
        if value is None:
            value = ""
        if isinstance(value, dict | list) or isinstance(value, bool):
            raise InvalidParameterValue(f"Param {key!r} value must be a string.")
        out.append(Param(key, str(value)))
    return out


def create_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_id = req.str("experiment_id") or "0"
    if not exp_id.isdigit():
        raise InvalidParameterValue(f"Invalid experiment_id {exp_id!r}: must be an integer id.")
    run = ctx.tracking_store.create_run(
        experiment_id=exp_id,
        user_id=req.str("user_id") or "",
        start_time=req.int("start_time"),
        tags=tags_from(req),
        run_name=req.str("run_name") or None,
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
        run_id, status, req.int("end_time"), req.str("run_name") or None
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
    max_results = req.int("max_results", default=1000)
    if max_results is None or max_results < 1 or max_results > 50000:
        raise InvalidParameterValue(f"max_results must be between 1 and 50000, got {max_results}.")
    page = ctx.tracking_store.search_runs(
        experiment_ids=req.str_list("experiment_ids"),
        filter_string=req.str("filter") or "",
        run_view_type=view_type(req, "run_view_type"),
        max_results=max_results,
        order_by=req.str_list("order_by") or None,
        page_token=req.str("page_token") or None,
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
    key = req.str("key", required=True)
    ctx.tracking_store.log_param(run_id, Param(key, req.str("value") or ""))
    return {}


def set_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    key = req.str("key", required=True)
    ctx.tracking_store.set_tag(run_id, RunTag(key, req.str("value") or ""))
    return {}


def delete_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.delete_tag(req.run_id(), req.str("key", required=True))
    return {}


def log_batch(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    if getattr(req, "body_size", 0) > MAX_BATCH_BYTES:
        raise InvalidParameterValue(
            f"log-batch request body exceeds {MAX_BATCH_BYTES} bytes; split the batch."
        )
    raw_metrics = req.dicts("metrics")
    raw_params = req.dicts("params")
    raw_tags = req.dicts("tags")
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
    metrics = [metric_from(m) for m in raw_metrics]
    ctx.tracking_store.log_batch(run_id, metrics=metrics, params=params, tags=tags_from(req))
    return {}


def log_inputs(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    try:
        datasets = [DatasetInput.from_dict(d) for d in req.dicts("datasets")]
        models = [LoggedModelInput(str(m["model_id"])) for m in req.dicts("models")]
    except (KeyError, TypeError, AttributeError):
        raise InvalidParameterValue("Malformed 'datasets' or 'models' in log-inputs request.")
    ctx.tracking_store.log_inputs(run_id, datasets=datasets or None, models=models or None)
    return {}


def log_outputs(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run_id = req.run_id()
    models = []
    for m in req.dicts("models", required=True):
        model_id = m.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            raise InvalidParameterValue("Each entry of 'models' needs a 'model_id'.")
        models.append(LoggedModelOutput(model_id, _int_field(m, "step", "model output")))
    ctx.tracking_store.log_outputs(run_id, models)
    return {}


def log_model_legacy(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """MLflow 2's ``runs/log-model``: record the model JSON in the legacy history tag."""
    import json

    run_id = req.run_id()
    model_json = req.str("model_json", required=True)
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
    key = req.str("metric_key", required=True)
    max_results = req.int("max_results")
    page = ctx.tracking_store.get_metric_history(
        run_id, key, max_results=max_results or None, page_token=req.str("page_token") or None
    )
    out: dict[str, Any] = {"metrics": [m.to_dict() for m in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


def _bulk(ctx: ApiContext, req: ApiRequest, run_ids: list[str]) -> list[dict[str, Any]]:
    if not run_ids:
        raise InvalidParameterValue("Missing value for required parameter 'run_ids'.")
    if len(run_ids) > 100:
        raise InvalidParameterValue("At most 100 runs may be requested at once.")
    key = req.str("metric_key", required=True)
    start, end = req.int("start_step"), req.int("end_step")
    max_results = req.int("max_results", default=25000) or 25000
    if max_results > 25000 or max_results < 1:
        raise InvalidParameterValue("max_results must be between 1 and 25000.")
    out = []
    for run_id in run_ids:
        points = list(ctx.tracking_store.get_metric_history(run_id, key))
        if start is not None:
            points = [p for p in points if p.step >= start]
        if end is not None:
            points = [p for p in points if p.step <= end]
        points.sort(key=lambda p: (p.step, p.timestamp))
        if len(points) > max_results:  # even sampling, first and last kept
            stride = len(points) / max_results
            points = [points[int(i * stride)] for i in range(max_results - 1)] + [points[-1]]
        for p in points:
            d = p.to_dict()
            d["run_id"] = run_id
            out.append(d)
    return out


def get_metric_history_bulk(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"metrics": _bulk(ctx, req, req.str_list("run_id") or req.str_list("run_ids"))}


def get_metric_history_bulk_interval(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"metrics": _bulk(ctx, req, req.str_list("run_ids"))}
