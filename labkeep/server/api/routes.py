"""The one table of MLflow-compatible REST routes.

Each row is ``(methods, path, handler)``. ``path`` is relative to ``/api`` (and mirrored under
``/ajax-api``); ``{name}`` segments become ``req.path_params``. ``handler`` is ``"module:function"``
inside ``labkeep.server.api``; modules are imported when the app is built, and a module that does
not exist yet (e.g. ``registry`` before the registry store lands) makes its routes answer
501 NOT_IMPLEMENTED instead of breaking the server.
"""

from __future__ import annotations

T = "/2.0/mlflow"  # tracking + registry (Python client prefix after /api)
T3 = "/3.0/mlflow"

ROUTES: list[tuple[tuple[str, ...], str, str]] = [
    # ---- experiments
    (("GET",), f"{T}/experiments/get-by-name", "experiments:get_experiment_by_name"),
    (("POST",), f"{T}/experiments/create", "experiments:create_experiment"),
    (("GET",), f"{T}/experiments/get", "experiments:get_experiment"),
    (("POST", "GET"), f"{T}/experiments/search", "experiments:search_experiments"),
    (("POST",), f"{T}/experiments/delete", "experiments:delete_experiment"),
    (("POST",), f"{T}/experiments/restore", "experiments:restore_experiment"),
    (("POST",), f"{T}/experiments/update", "experiments:update_experiment"),
    (("POST",), f"{T}/experiments/set-experiment-tag", "experiments:set_experiment_tag"),
    (("POST",), f"{T}/experiments/delete-experiment-tag", "experiments:delete_experiment_tag"),
    # ---- runs
    (("POST",), f"{T}/runs/create", "runs:create_run"),
    (("POST",), f"{T}/runs/update", "runs:update_run"),
    (("POST",), f"{T}/runs/delete", "runs:delete_run"),
    (("POST",), f"{T}/runs/restore", "runs:restore_run"),
    (("GET",), f"{T}/runs/get", "runs:get_run"),
    (("POST", "GET"), f"{T}/runs/search", "runs:search_runs"),
    (("POST",), f"{T}/runs/log-metric", "runs:log_metric"),
    (("POST",), f"{T}/runs/log-parameter", "runs:log_param"),
    (("POST",), f"{T}/runs/set-tag", "runs:set_tag"),
    (("POST",), f"{T}/runs/delete-tag", "runs:delete_tag"),
    (("POST",), f"{T}/runs/log-batch", "runs:log_batch"),
    (("POST",), f"{T}/runs/log-inputs", "runs:log_inputs"),
    (("POST",), f"{T}/runs/outputs", "runs:log_outputs"),
    (("POST",), f"{T}/runs/log-model", "runs:log_model_legacy"),
    (("GET",), f"{T}/metrics/get-history", "runs:get_metric_history"),
    (("GET",), f"{T}/metrics/get-history-bulk", "runs:get_metric_history_bulk"),
    (("GET",), f"{T}/metrics/get-history-bulk-interval", "runs:get_metric_history_bulk_interval"),
    (("GET",), f"{T}/artifacts/list", "artifacts:list_run_artifacts"),
    # ---- logged models (MLflow 3 feature, 2.0 prefix)
    (("POST",), f"{T}/logged-models", "logged_models:create_logged_model"),
    (("POST",), f"{T}/logged-models/search", "logged_models:search_logged_models"),
    (("GET",), f"{T}/logged-models/{{model_id}}", "logged_models:get_logged_model"),
    (("PATCH",), f"{T}/logged-models/{{model_id}}", "logged_models:finalize_logged_model"),
    (("DELETE",), f"{T}/logged-models/{{model_id}}", "logged_models:delete_logged_model"),
    (("PATCH",), f"{T}/logged-models/{{model_id}}/tags", "logged_models:set_logged_model_tags"),
    (
        ("DELETE",),
        f"{T}/logged-models/{{model_id}}/tags/{{tag_key}}",
        "logged_models:delete_logged_model_tag",
    ),
    (("POST",), f"{T}/logged-models/{{model_id}}/params", "logged_models:log_logged_model_params"),
    (
        ("GET",),
        f"{T}/logged-models/{{model_id}}/artifacts/directories",
        "logged_models:list_logged_model_artifacts",
    ),
    (("GET",), f"{T}/logged-models/{{model_id}}/artifacts/files", "logged_models:get_logged_model_artifact"),
    # ---- model registry (handlers in labkeep/server/api/registry.py, the registry engineer's module)
    (("POST",), f"{T}/registered-models/create", "registry:create_registered_model"),
    (("POST",), f"{T}/registered-models/rename", "registry:rename_registered_model"),
    (("PATCH",), f"{T}/registered-models/update", "registry:update_registered_model"),
    (("DELETE",), f"{T}/registered-models/delete", "registry:delete_registered_model"),
    (("GET",), f"{T}/registered-models/get", "registry:get_registered_model"),
    (("GET",), f"{T}/registered-models/search", "registry:search_registered_models"),
    (("POST", "GET"), f"{T}/registered-models/get-latest-versions", "registry:get_latest_versions"),
    (("POST",), f"{T}/registered-models/set-tag", "registry:set_registered_model_tag"),
    (("DELETE",), f"{T}/registered-models/delete-tag", "registry:delete_registered_model_tag"),
    (("POST",), f"{T}/registered-models/alias", "registry:set_registered_model_alias"),
    (("DELETE",), f"{T}/registered-models/alias", "registry:delete_registered_model_alias"),
    (("GET",), f"{T}/registered-models/alias", "registry:get_model_version_by_alias"),
    (("POST",), f"{T}/model-versions/create", "registry:create_model_version"),
    (("PATCH",), f"{T}/model-versions/update", "registry:update_model_version"),
    (("POST",), f"{T}/model-versions/transition-stage", "registry:transition_model_version_stage"),
    (("DELETE",), f"{T}/model-versions/delete", "registry:delete_model_version"),
    (("GET",), f"{T}/model-versions/get", "registry:get_model_version"),
    (("GET",), f"{T}/model-versions/search", "registry:search_model_versions"),
    (("GET",), f"{T}/model-versions/get-download-uri", "registry:get_model_version_download_uri"),
    (("POST",), f"{T}/model-versions/set-tag", "registry:set_model_version_tag"),
    (("DELETE",), f"{T}/model-versions/delete-tag", "registry:delete_model_version_tag"),
    # labkeep extension: promotion history (stage transitions and alias changes) of a model / version
    (("GET",), "/2.0/labkeep/registered-models/history", "registry:get_promotion_history"),
    # ---- service
    (("GET",), f"{T3}/server-info", "meta:server_info"),
    # ---- LLM tracing (handlers in labkeep/server/api/traces.py, the GenAI engineer's module)
    (("POST",), f"{T3}/traces", "traces:start_trace"),
    (("POST",), f"{T3}/traces/search", "traces:search_traces"),
    (("GET",), f"{T3}/traces/batchGet", "traces:batch_get_traces"),
    (("GET",), f"{T3}/traces/get", "traces:get_trace"),
    (("GET",), f"{T3}/traces/{{trace_id}}", "traces:get_trace_info"),
    (("PATCH",), f"{T}/traces/{{trace_id}}/tags", "traces:set_trace_tag"),
    (("DELETE",), f"{T}/traces/{{trace_id}}/tags", "traces:delete_trace_tag"),
    (("PATCH",), f"{T3}/traces/{{trace_id}}/tags", "traces:set_trace_tag"),
    (("DELETE",), f"{T3}/traces/{{trace_id}}/tags", "traces:delete_trace_tag"),
    (("POST",), f"{T}/traces/delete-traces", "traces:delete_traces"),
    (("POST",), f"{T3}/traces/delete-traces", "traces:delete_traces"),
    (("POST",), f"{T3}/traces/{{trace_id}}/assessments", "traces:create_assessment"),
    (("GET",), f"{T3}/traces/{{trace_id}}/assessments/{{assessment_id}}", "traces:get_assessment"),
    (("PATCH",), f"{T3}/traces/{{trace_id}}/assessments/{{assessment_id}}", "traces:update_assessment"),
    (("DELETE",), f"{T3}/traces/{{trace_id}}/assessments/{{assessment_id}}", "traces:delete_assessment"),
]

# Artifact proxy under /api/2.0/mlflow-artifacts (raw Starlette endpoints: bytes, not JSON).
ARTIFACT_PREFIX = "/2.0/mlflow-artifacts"
ARTIFACT_ROUTES: list[tuple[tuple[str, ...], str, str]] = [
    (("GET",), "/artifacts", "artifacts:proxy_list"),
    (("PUT",), "/artifacts/{path}", "artifacts:proxy_upload"),
    (("GET",), "/artifacts/{path}", "artifacts:proxy_download"),
    (("DELETE",), "/artifacts/{path}", "artifacts:proxy_delete"),
    (("POST",), "/mpu/create/{path}", "artifacts:proxy_mpu_create"),
    (("POST",), "/mpu/complete/{path}", "artifacts:proxy_mpu_complete"),
    (("POST",), "/mpu/abort/{path}", "artifacts:proxy_mpu_abort"),
]

# Top-level routes (below --static-prefix): service and legacy artifact downloads.
TOP_ROUTES: list[tuple[tuple[str, ...], str, str]] = [
    (("GET",), "/health", "meta:health"),
    (("GET",), "/version", "meta:version"),
    (("POST",), "/v1/traces", "traces:otlp_traces"),  # OTLP/protobuf spans (GenAI engineer)
    (("GET",), "/get-artifact", "artifacts:legacy_get_artifact"),
    (("GET",), "/model-versions/get-artifact", "artifacts:legacy_get_model_version_artifact"),
]
# Legacy UI upload (raw body), under /ajax-api only.
AJAX_ONLY_ROUTES: list[tuple[tuple[str, ...], str, str]] = [
    (("POST",), f"{T}/upload-artifact", "artifacts:legacy_upload_artifact"),
]
