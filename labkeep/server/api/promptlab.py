"""``runs/create-promptlab-run``: record one prompt-engineering trial (template, route, input, output) as a run.

The run gets the model parameters, ``model_route`` and ``prompt_template`` as params, the tags
mlflow's UI uses to show it as a prompt-engineering run, and an ``eval_results_table.json``
artifact (one row: the prompt parameters, the prompt, the output and the output parameters).
It ends FINISHED, or FAILED when its artifact cannot be written.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from typing import Any

from labkeep.entities import Param, RunTag
from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.server.api.experiments import tags_from
from labkeep.server.api.runs import params_from

log = logging.getLogger(__name__)

RESULTS_TABLE = "eval_results_table.json"
SOURCE_TYPE_TAG = "mlflow.runSourceType"
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"


def _required(req: ApiRequest, name: str) -> Any:
    value = req.raw(name)
    if not value:
        raise InvalidParameterValue(f"CreatePromptlabRun request must specify {name}.")
    return value


def _text(req: ApiRequest, name: str) -> str | None:
    value = req.raw(name)
    return None if value is None else _string(name, value)


def _required_text(req: ApiRequest, name: str) -> str:
    return _string(name, _required(req, name))


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidParameterValue(f"CreatePromptlabRun field '{name}' must be a string.")
    return value


def results_table(
    prompt: list[Param], model_input: str, output: str | None, output_params: list[Param]
) -> str:
    """The one-row table the UI shows for a prompt-engineering run."""
    columns = [p.key for p in prompt] + ["prompt", "output"] + [p.key for p in output_params]
    row = [p.value for p in prompt] + [model_input, output] + [p.value for p in output_params]
    return json.dumps({"columns": columns, "data": [row]})


def _write_table(ctx: ApiContext, artifact_uri: str, content: str) -> None:
    from labkeep.server.api.artifacts import resolve_uri

    store, prefix = resolve_uri(ctx, artifact_uri)
    rel = "/".join(p for p in (prefix, RESULTS_TABLE) if p)
    fd, tmp = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        store.save_file(rel, tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def create_promptlab_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    experiment_id = _required_text(req, "experiment_id")
    template = _required_text(req, "prompt_template")
    _required(req, "prompt_parameters")
    prompt = params_from(req.get_dicts("prompt_parameters"), "prompt_parameters")
    route = _required_text(req, "model_route")
    model_input = _required_text(req, "model_input")
    _required_text(req, "mlflow_version")
    model_params = params_from(req.get_dicts("model_parameters"), "model_parameters")
    output_params = params_from(req.get_dicts("model_output_parameters"), "model_output_parameters")
    output = _text(req, "model_output")
    start = req.get_int("start_time")
    store = ctx.tracking_store
    run = store.create_run(
        experiment_id=experiment_id,
        user_id=req.get_str("user_id") or "unknown",
        start_time=start if start is not None else int(time.time() * 1000),
        tags=tags_from(req),
        run_name=req.get_str("run_name") or None,
    )
    run_id = run.info.run_id
    store.log_batch(
        run_id,
        params=[*model_params, Param("model_route", route or ""), Param("prompt_template", template or "")],
        tags=[
            RunTag(LOGGED_ARTIFACTS_TAG, json.dumps([{"path": RESULTS_TABLE, "type": "table"}])),
            RunTag(SOURCE_TYPE_TAG, "PROMPT_ENGINEERING"),
        ],
    )
    status = "FINISHED"
    try:
        _write_table(
            ctx, run.info.artifact_uri, results_table(prompt, model_input or "", output, output_params)
        )
    except Exception:
        log.exception("Could not write the results table of prompt-engineering run %s", run_id)
        status = "FAILED"
    store.update_run_info(run_id, status, int(time.time() * 1000), None)
    return {"run": store.get_run(run_id).to_dict()}
