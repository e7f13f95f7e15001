"""labkeep: track, compare, register, package and serve ML models — MLflow-compatible and fast.

``import labkeep as mlflow`` runs ordinary mlflow scripts. Importing this package is cheap:
databases, pandas, the server and model flavors load only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

from labkeep.client import Client, MlflowClient
from labkeep.exceptions import LabkeepException, MlflowException
from labkeep.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_registry_uri,
    get_run,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    rename_experiment,
    restore_experiment,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_registry_uri,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from labkeep.version import __version__

# Submodules loaded on first attribute access (``labkeep.sklearn.log_model`` …).
_LAZY_SUBMODULES = {
    "artifacts",
    "entities",
    "genai",
    "models",
    "projects",
    "pyfunc",
    "sklearn",
    "tracking",
    "lightgbm",
    "openai",
    "langchain",
    "transformers",
    "xgboost",
    "pytorch",
    "autologging",
}
# Functions that live in heavier modules, imported on first use.
_LAZY_FUNCTIONS = {
    "register_model": "labkeep.registry.client",
    "search_registered_models": "labkeep.registry.client",
    "search_model_versions": "labkeep.registry.client",
    # LLM tracking (labkeep/genai)
    "trace": "labkeep.genai.tracing.fluent",
    "start_span": "labkeep.genai.tracing.fluent",
    "search_traces": "labkeep.genai.tracing.fluent",
    "get_trace": "labkeep.genai.tracing.fluent",
    "get_last_active_trace_id": "labkeep.genai.tracing.fluent",
    "get_current_active_span": "labkeep.genai.tracing.fluent",
    "update_current_trace": "labkeep.genai.tracing.fluent",
    "set_trace_tag": "labkeep.genai.tracing.fluent",
    "delete_trace_tag": "labkeep.genai.tracing.fluent",
    "log_feedback": "labkeep.genai.tracing.fluent",
    "log_expectation": "labkeep.genai.tracing.fluent",
    "flush_trace_async_logging": "labkeep.genai.tracing.fluent",
    "evaluate": "labkeep.genai.evaluation",
    "register_prompt": "labkeep.genai.prompts",
    "load_prompt": "labkeep.genai.prompts",
    "init": "labkeep.offline",
    # autologging (labkeep/autologging)
    "autolog": "labkeep.autologging.integrations",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"labkeep.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'labkeep' has no attribute {name!r}")


__all__ = [
    "ActiveRun",
    "Client",
    "LabkeepException",
    "MlflowClient",
    "MlflowException",
    "__version__",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "delete_trace_tag",
    "end_run",
    "evaluate",
    "flush_trace_async_logging",
    "get_artifact_uri",
    "get_current_active_span",
    "get_experiment",
    "get_experiment_by_name",
    "get_last_active_trace_id",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_trace",
    "get_tracking_uri",
    "last_active_run",
    "load_prompt",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_expectation",
    "log_feedback",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "register_model",
    "register_prompt",
    "rename_experiment",
    "restore_experiment",
    "search_experiments",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "search_traces",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_trace_tag",
    "set_tracking_uri",
    "start_run",
    "start_span",
    "trace",
    "update_current_trace",
    "init",
]
