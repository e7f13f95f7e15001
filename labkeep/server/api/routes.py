"""The one table of the server's API routes, with the handler functions themselves.

``ROUTES`` are relative to ``/api`` and mirrored under ``/ajax-api``; ``{name}`` segments become
``req.path_params`` (``{path}`` and ``{tag_key}``, always last, take the rest of the path, slashes
included). JSON handlers are ``handler(ctx, req) -> dict`` and run in the worker thread pool; raw
handlers (the artifact proxy, OTLP) are ``async def handler(ctx, request, path_params)`` and
answer a Starlette ``Response``. The web UI's pages are listed in ``labkeep/server/ui/routes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from labkeep.server.api import (
    artifacts,
    datasets,
    eval_datasets,
    experiments,
    issues,
    logged_models,
    meta,
    promptlab,
    registry,
    runs,
    scorers,
    trace_metrics,
    traces,
    traces_v2,
)
from labkeep.server.api import auth as auth_api
from labkeep.server.api import graphql as graphql_api
from labkeep.server.api import transfer as transfer_api


class ApiRoute(NamedTuple):
    """One API route: HTTP methods, path template and the handler function."""

    methods: tuple[str, ...]
    path: str
    handler: Callable[..., Any]
    # What the route needs when auth is on (``labkeep.server.auth.access``); filled in by
    # ``server.app.full_route_table`` from the handler's rule.
    access: Any = None


T = "/2.0/mlflow"  # tracking + registry (Python client prefix after /api)
T3 = "/3.0/mlflow"

ROUTES: list[ApiRoute] = [
    # ---- experiments
    ApiRoute(("GET",), f"{T}/experiments/get-by-name", experiments.get_experiment_by_name),
    ApiRoute(("POST",), f"{T}/experiments/create", experiments.create_experiment),
    ApiRoute(("GET",), f"{T}/experiments/get", experiments.get_experiment),
    ApiRoute(("POST", "GET"), f"{T}/experiments/search", experiments.search_experiments),
    ApiRoute(("POST",), f"{T}/experiments/delete", experiments.delete_experiment),
    ApiRoute(("POST",), f"{T}/experiments/restore", experiments.restore_experiment),
    ApiRoute(("POST",), f"{T}/experiments/update", experiments.update_experiment),
    ApiRoute(("POST",), f"{T}/experiments/set-experiment-tag", experiments.set_experiment_tag),
    ApiRoute(("POST",), f"{T}/experiments/delete-experiment-tag", experiments.delete_experiment_tag),
    # ---- runs
    ApiRoute(("POST",), f"{T}/runs/create", runs.create_run),
    ApiRoute(("POST",), f"{T}/runs/update", runs.update_run),
    ApiRoute(("POST",), f"{T}/runs/delete", runs.delete_run),
    ApiRoute(("POST",), f"{T}/runs/restore", runs.restore_run),
    ApiRoute(("GET",), f"{T}/runs/get", runs.get_run),
    ApiRoute(("POST", "GET"), f"{T}/runs/search", runs.search_runs),
    ApiRoute(("POST",), f"{T}/runs/log-metric", runs.log_metric),
    ApiRoute(("POST",), f"{T}/runs/log-parameter", runs.log_param),
    ApiRoute(("POST",), f"{T}/runs/set-tag", runs.set_tag),
    ApiRoute(("POST",), f"{T}/runs/delete-tag", runs.delete_tag),
    ApiRoute(("POST",), f"{T}/runs/log-batch", runs.log_batch),
    ApiRoute(("POST",), f"{T}/runs/log-inputs", runs.log_inputs),
    ApiRoute(("POST",), f"{T}/runs/outputs", runs.log_outputs),
    ApiRoute(("POST",), f"{T}/runs/log-model", runs.log_model_legacy),
    ApiRoute(("GET",), f"{T}/metrics/get-history", runs.get_metric_history),
    ApiRoute(("GET",), f"{T}/metrics/get-history-bulk", runs.get_metric_history_bulk),
    ApiRoute(("GET",), f"{T}/metrics/get-history-bulk-interval", runs.get_metric_history_bulk_interval),
    ApiRoute(("GET",), f"{T}/artifacts/list", artifacts.list_run_artifacts),
    # ---- logged models (MLflow 3 feature, 2.0 prefix)
    ApiRoute(("POST",), f"{T}/logged-models", logged_models.create_logged_model),
    ApiRoute(("POST",), f"{T}/logged-models/search", logged_models.search_logged_models),
    ApiRoute(("GET",), f"{T}/logged-models/{{model_id}}", logged_models.get_logged_model),
    ApiRoute(("PATCH",), f"{T}/logged-models/{{model_id}}", logged_models.finalize_logged_model),
    ApiRoute(("DELETE",), f"{T}/logged-models/{{model_id}}", logged_models.delete_logged_model),
    ApiRoute(("PATCH",), f"{T}/logged-models/{{model_id}}/tags", logged_models.set_logged_model_tags),
    ApiRoute(
        ("DELETE",),
        f"{T}/logged-models/{{model_id}}/tags/{{tag_key}}",
        logged_models.delete_logged_model_tag,
    ),
    ApiRoute(("POST",), f"{T}/logged-models/{{model_id}}/params", logged_models.log_logged_model_params),
    ApiRoute(
        ("GET",),
        f"{T}/logged-models/{{model_id}}/artifacts/directories",
        logged_models.list_logged_model_artifacts,
    ),
    ApiRoute(("GET",), f"{T}/logged-models/{{model_id}}/artifacts/files", logged_models.get_logged_model_artifact),
    # ---- model registry
    ApiRoute(("POST",), f"{T}/registered-models/create", registry.create_registered_model),
    ApiRoute(("POST",), f"{T}/registered-models/rename", registry.rename_registered_model),
    ApiRoute(("PATCH",), f"{T}/registered-models/update", registry.update_registered_model),
    ApiRoute(("DELETE",), f"{T}/registered-models/delete", registry.delete_registered_model),
    ApiRoute(("GET",), f"{T}/registered-models/get", registry.get_registered_model),
    ApiRoute(("GET",), f"{T}/registered-models/search", registry.search_registered_models),
    ApiRoute(("POST", "GET"), f"{T}/registered-models/get-latest-versions", registry.get_latest_versions),
    ApiRoute(("POST",), f"{T}/registered-models/set-tag", registry.set_registered_model_tag),
    ApiRoute(("DELETE",), f"{T}/registered-models/delete-tag", registry.delete_registered_model_tag),
    ApiRoute(("POST",), f"{T}/registered-models/alias", registry.set_registered_model_alias),
    ApiRoute(("DELETE",), f"{T}/registered-models/alias", registry.delete_registered_model_alias),
    ApiRoute(("GET",), f"{T}/registered-models/alias", registry.get_model_version_by_alias),
    ApiRoute(("POST",), f"{T}/model-versions/create", registry.create_model_version),
    ApiRoute(("PATCH",), f"{T}/model-versions/update", registry.update_model_version),
    ApiRoute(("POST",), f"{T}/model-versions/transition-stage", registry.transition_model_version_stage),
    ApiRoute(("DELETE",), f"{T}/model-versions/delete", registry.delete_model_version),
    ApiRoute(("GET",), f"{T}/model-versions/get", registry.get_model_version),
    ApiRoute(("GET",), f"{T}/model-versions/search", registry.search_model_versions),
    ApiRoute(("GET",), f"{T}/model-versions/get-download-uri", registry.get_model_version_download_uri),
    ApiRoute(("POST",), f"{T}/model-versions/set-tag", registry.set_model_version_tag),
    ApiRoute(("DELETE",), f"{T}/model-versions/delete-tag", registry.delete_model_version_tag),
    # labkeep extension: promotion history (stage transitions and alias changes) of a model / version
    ApiRoute(("GET",), "/2.0/labkeep/registered-models/history", registry.get_promotion_history),
    # ---- service
    ApiRoute(("GET",), f"{T3}/server-info", meta.server_info),
    # ---- LLM tracing
    ApiRoute(("POST",), f"{T3}/traces", traces.start_trace),
    ApiRoute(("POST",), f"{T3}/traces/metrics", trace_metrics.query_trace_metrics),
    ApiRoute(("POST",), f"{T3}/traces/calculate-filter-correlation", trace_metrics.calculate_trace_filter_correlation),
    ApiRoute(("POST",), f"{T3}/traces/search", traces.search_traces),
    ApiRoute(("GET",), f"{T3}/traces/batchGet", traces.batch_get_traces),
    ApiRoute(("GET",), f"{T3}/traces/get", traces.get_trace),
    ApiRoute(("GET",), f"{T3}/traces/{{trace_id}}", traces.get_trace_info),
    ApiRoute(("PATCH",), f"{T}/traces/{{trace_id}}/tags", traces.set_trace_tag),
    ApiRoute(("DELETE",), f"{T}/traces/{{trace_id}}/tags", traces.delete_trace_tag),
    ApiRoute(("PATCH",), f"{T3}/traces/{{trace_id}}/tags", traces.set_trace_tag),
    ApiRoute(("DELETE",), f"{T3}/traces/{{trace_id}}/tags", traces.delete_trace_tag),
    ApiRoute(("POST",), f"{T}/traces/delete-traces", traces.delete_traces),
    ApiRoute(("POST",), f"{T3}/traces/delete-traces", traces.delete_traces),
    ApiRoute(("POST",), f"{T3}/traces/{{trace_id}}/assessments", traces.create_assessment),
    ApiRoute(("GET",), f"{T3}/traces/{{trace_id}}/assessments/{{assessment_id}}", traces.get_assessment),
    ApiRoute(("PATCH",), f"{T3}/traces/{{trace_id}}/assessments/{{assessment_id}}", traces.update_assessment),
    ApiRoute(("DELETE",), f"{T3}/traces/{{trace_id}}/assessments/{{assessment_id}}", traces.delete_assessment),
    # ---- auth (``--app-name basic-auth``; mlflow 3.17.2's auth REST API) and personal access tokens
    ApiRoute(("POST",), f"{T}/users/create", auth_api.create_user),
    ApiRoute(("GET",), f"{T}/users/get", auth_api.get_user),
    ApiRoute(("GET",), f"{T}/users/list", auth_api.list_users),
    ApiRoute(("GET",), f"{T}/users/current", auth_api.current_user),
    ApiRoute(("PATCH",), f"{T}/users/update-password", auth_api.update_password),
    ApiRoute(("PATCH",), f"{T}/users/update-admin", auth_api.update_admin),
    ApiRoute(("DELETE",), f"{T}/users/delete", auth_api.delete_user),
    ApiRoute(("POST",), f"{T3}/users/permissions/grant", auth_api.grant_permission),
    ApiRoute(("POST",), f"{T3}/users/permissions/revoke", auth_api.revoke_permission),
    ApiRoute(("GET",), f"{T3}/users/permissions/get", auth_api.get_permission),
    ApiRoute(("GET",), f"{T3}/users/permissions/list", auth_api.list_permissions),
    ApiRoute(("GET",), f"{T3}/users/current/permissions", auth_api.current_permissions),
    ApiRoute(("GET",), f"{T3}/users/roles/list", auth_api.list_user_roles),
    ApiRoute(("POST",), f"{T3}/roles/create", auth_api.create_role),
    ApiRoute(("GET",), f"{T3}/roles/get", auth_api.get_role),
    ApiRoute(("GET",), f"{T3}/roles/list", auth_api.list_roles),
    ApiRoute(("PATCH",), f"{T3}/roles/update", auth_api.update_role),
    ApiRoute(("DELETE",), f"{T3}/roles/delete", auth_api.delete_role),
    ApiRoute(("POST",), f"{T3}/roles/permissions/add", auth_api.add_role_permission),
    ApiRoute(("DELETE",), f"{T3}/roles/permissions/remove", auth_api.remove_role_permission),
    ApiRoute(("GET",), f"{T3}/roles/permissions/list", auth_api.list_role_permissions),
    ApiRoute(("PATCH",), f"{T3}/roles/permissions/update", auth_api.update_role_permission),
    ApiRoute(("POST",), f"{T3}/roles/assign", auth_api.assign_role),
    ApiRoute(("DELETE",), f"{T3}/roles/unassign", auth_api.unassign_role),
    ApiRoute(("GET",), f"{T3}/roles/users/list", auth_api.list_role_users),
    ApiRoute(("POST",), "/2.0/labkeep/tokens/create", auth_api.create_token),
    ApiRoute(("GET",), "/2.0/labkeep/tokens/list", auth_api.list_tokens),
    ApiRoute(("POST",), "/2.0/labkeep/tokens/revoke", auth_api.revoke_token),
    # ---- labkeep's own: transfer records (labkeep sync, imports into a server)
    ApiRoute(("POST",), "/2.0/labkeep/transfer/apply", transfer_api.apply_record),
    # ---- issue 12 (compat)
    ApiRoute(("POST",), f"{T}/experiments/search-datasets", datasets.search_datasets),
    ApiRoute(("POST",), f"{T}/traces/link-to-run", traces.link_traces_to_run),
    ApiRoute(("POST",), f"{T3}/traces/link-to-run", traces.link_traces_to_run),
    ApiRoute(("POST",), f"{T3}/issues", issues.create_issue),
    ApiRoute(("POST",), f"{T3}/issues/search", issues.search_issues),
    ApiRoute(("GET",), f"{T3}/issues/{{issue_id}}", issues.get_issue),
    ApiRoute(("PATCH",), f"{T3}/issues/{{issue_id}}", issues.update_issue),
    ApiRoute(("POST",), f"{T3}/datasets/create", eval_datasets.create_dataset),
    ApiRoute(("POST",), f"{T3}/datasets/search", eval_datasets.search_datasets),
    ApiRoute(("GET",), f"{T3}/datasets/{{dataset_id}}", eval_datasets.get_dataset),
    ApiRoute(("DELETE",), f"{T3}/datasets/{{dataset_id}}", eval_datasets.delete_dataset),
    ApiRoute(("PATCH",), f"{T3}/datasets/{{dataset_id}}/tags", eval_datasets.set_dataset_tags),
    ApiRoute(("DELETE",), f"{T3}/datasets/{{dataset_id}}/tags/{{key}}", eval_datasets.delete_dataset_tag),
    ApiRoute(("POST",), f"{T3}/datasets/{{dataset_id}}/records", eval_datasets.upsert_dataset_records),
    ApiRoute(("GET",), f"{T3}/datasets/{{dataset_id}}/records", eval_datasets.get_dataset_records),
    ApiRoute(("DELETE",), f"{T3}/datasets/{{dataset_id}}/records", eval_datasets.delete_dataset_records),
    ApiRoute(("GET",), f"{T3}/datasets/{{dataset_id}}/experiment-ids", eval_datasets.get_dataset_experiment_ids),
    ApiRoute(("POST",), f"{T3}/datasets/{{dataset_id}}/add-experiments", eval_datasets.add_dataset_to_experiments),
    ApiRoute(
        ("POST",), f"{T3}/datasets/{{dataset_id}}/remove-experiments", eval_datasets.remove_dataset_from_experiments
    ),
    ApiRoute(("POST",), f"{T3}/scorers/register", scorers.register_scorer),
    ApiRoute(("GET",), f"{T3}/scorers/list", scorers.list_scorers),
    ApiRoute(("GET",), f"{T3}/scorers/versions", scorers.list_scorer_versions),
    ApiRoute(("GET",), f"{T3}/scorers/get", scorers.get_scorer),
    ApiRoute(("DELETE",), f"{T3}/scorers/delete", scorers.delete_scorer),
    # legacy v2 traces (older clients): start, end, read the info
    ApiRoute(("POST",), f"{T}/traces", traces_v2.start_trace_v2),
    ApiRoute(("PATCH",), f"{T}/traces/{{request_id}}", traces_v2.end_trace_v2),
    ApiRoute(("GET",), f"{T}/traces/{{request_id}}/info", traces_v2.get_trace_info_v2),
    ApiRoute(("GET",), f"{T}/get-trace-artifact", traces_v2.get_trace_artifact),
    ApiRoute(("POST",), f"{T}/runs/create-promptlab-run", promptlab.create_promptlab_run),
]

# Artifact proxy under /api/2.0/mlflow-artifacts (raw Starlette endpoints: bytes, not JSON).
ARTIFACT_PREFIX = "/2.0/mlflow-artifacts"
ARTIFACT_ROUTES: list[ApiRoute] = [
    ApiRoute(("GET",), "/artifacts", artifacts.proxy_list),
    ApiRoute(("PUT",), "/artifacts/{path}", artifacts.proxy_upload),
    ApiRoute(("GET",), "/artifacts/{path}", artifacts.proxy_download),
    ApiRoute(("DELETE",), "/artifacts/{path}", artifacts.proxy_delete),
    ApiRoute(("POST",), "/mpu/create/{path}", artifacts.proxy_mpu_create),
    ApiRoute(("POST",), "/mpu/complete/{path}", artifacts.proxy_mpu_complete),
    ApiRoute(("POST",), "/mpu/abort/{path}", artifacts.proxy_mpu_abort),
]

# Top-level routes (below --static-prefix): service and legacy artifact downloads.
TOP_ROUTES: list[ApiRoute] = [
    ApiRoute(("GET",), "/health", meta.health),
    ApiRoute(("GET",), "/version", meta.version),
    ApiRoute(("GET", "POST"), "/graphql", graphql_api.graphql),  # per-field checks: the REST rules
    ApiRoute(("POST",), "/v1/traces", traces.otlp_traces),  # OTLP/protobuf spans
    ApiRoute(("GET",), "/get-artifact", artifacts.legacy_get_artifact),
    ApiRoute(("GET",), "/model-versions/get-artifact", artifacts.legacy_get_model_version_artifact),
]
# Legacy UI upload (raw body), under /ajax-api only.
AJAX_ONLY_ROUTES: list[ApiRoute] = [
    ApiRoute(("POST",), f"{T}/upload-artifact", artifacts.legacy_upload_artifact),
]
