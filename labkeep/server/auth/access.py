"""What each route needs: an ``Access`` per handler, looked up for every route of the table.

``RULES`` maps every handler of the API route table (and every UI view, see ``ui_rules``) to an
``Access``. ``server.app.full_route_table`` attaches it to the route; the dispatcher refuses a
route without one when auth is on, and ``tests/server/test_auth_routes.py`` fails for any route
that lacks one, so a route added later cannot skip the check.

An ``Access`` is one of: ``PUBLIC`` (health, version, server-info, login page), ``USER`` (any
authenticated user; the handler or ``after`` narrows it, e.g. search results are filtered),
``ADMIN``, or a resource rule: the permission ``need`` (read/update/delete/manage) on the
experiments or registered models that ``locate`` finds in the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from labkeep.server.api.common import ApiRequest
from labkeep.server.auth import permissions as perms

Locate = Callable[[Any, ApiRequest], list[str]]
After = Callable[[Any, Any, ApiRequest, Any], Any]


@dataclass(frozen=True)
class Access:
    kind: str  # "public" | "user" | "admin" | "resource"
    resource: str = ""
    need: str = "read"
    locate: Locate | None = None
    after: After | None = None
    also: tuple[Access, ...] = ()  # further checks (e.g. the source of a new model version)

    def check(self, svc: Any, user: Any, req: ApiRequest) -> None:
        """Raise PERMISSION_DENIED unless ``user`` may make this request."""
        if self.kind == "admin" and not user.is_admin:
            from labkeep.server.auth.service import denied

            raise denied(f"Permission denied: only an admin may do this ('{user.username}' is not one).")
        if self.kind == "resource" and not user.is_admin:
            for rid in self.locate(svc, req) if self.locate else []:
                svc.require(user, self.resource, rid, self.need)
        for extra in self.also:
            extra.check(svc, user, req)


PUBLIC = Access("public")
USER = Access("user")
ADMIN = Access("admin")


# ---------------------------------------------------------------- locators
def _values(req: ApiRequest, name: str) -> list[Any]:
    """Every value a request gives for ``name``, a single one or a list, from the body or the
    query; the handler validates the shape afterwards (a permission check never rejects it)."""
    raw = req.body.get(name) if isinstance(req.body, dict) else None
    if raw is None:
        return list(req.query.get(name, []))
    return raw if isinstance(raw, list) else [raw]


def _ids(values: list[Any]) -> list[str]:
    return [str(v) for v in values if v is not None and str(v) != ""]


def exp_param(name: str = "experiment_id", default: str | None = None) -> Locate:
    def locate(svc: Any, req: ApiRequest) -> list[str]:
        value = req.raw(name, default)
        return _ids([value])

    return locate


def exp_list(name: str = "experiment_ids") -> Locate:
    return lambda svc, req: _ids(_values(req, name))


def exp_by_name(name: str = "experiment_name") -> Locate:
    def locate(svc: Any, req: ApiRequest) -> list[str]:
        value = req.raw(name)
        return _ids([svc.experiment_by_name(value)]) if isinstance(value, str) else []

    return locate


def run_param(*names: str) -> Locate:
    names = names or ("run_id", "run_uuid")

    def locate(svc: Any, req: ApiRequest) -> list[str]:
        values: list[Any] = []
        for n in names:
            values += _values(req, n)
        return _ids([svc.experiment_of_run(v) for v in _ids(values)])

    return locate


def model_param(name: str = "model_id") -> Locate:
    return lambda svc, req: _ids([svc.experiment_of_model(str(req.raw(name)))]) if req.raw(name) else []


def trace_param(name: str = "trace_id") -> Locate:
    def locate(svc: Any, req: ApiRequest) -> list[str]:
        values = _values(req, name) if name.endswith("s") else [req.raw(name)]
        return _ids([svc.experiment_of_trace(str(v)) for v in _ids(values)])

    return locate


def trace_locations(svc: Any, req: ApiRequest) -> list[str]:
    ids = []
    for loc in _values(req, "locations"):
        if isinstance(loc, dict):
            ids.append((loc.get("mlflow_experiment") or {}).get("experiment_id"))
        elif isinstance(loc, str):
            ids.append(loc)
    return _ids(ids + _values(req, "experiment_ids"))


def new_trace_experiment(svc: Any, req: ApiRequest) -> list[str]:
    body = req.raw("trace")
    try:
        loc = body["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"]
    except (TypeError, KeyError):
        loc = None
    if loc is None and isinstance(body, dict) and isinstance(body.get("trace_info"), dict):
        loc = body["trace_info"].get("experiment_id")
    return _ids([loc if loc is not None else "0"])  # the store's default, as TraceInfo.from_dict


def otlp_experiment(svc: Any, req: ApiRequest) -> list[str]:
    return _ids([req.headers.get("x-mlflow-experiment-id")])


def model_name(name: str = "name") -> Locate:
    return lambda svc, req: _ids([req.raw(name)]) if isinstance(req.raw(name), str) else []


_ARTIFACT_EXP = re.compile(r"^(\d+)(?:/|$)")


def artifact_path(svc: Any, req: ApiRequest) -> list[str]:
    """The experiment a proxied artifact path belongs to: its first segment (``<exp>/<run>/…``)."""
    path = req.path_params.get("path") if "path" in req.path_params else (req.query.get("path") or [""])[0]
    path = (path or "").lstrip("/")
    m = _ARTIFACT_EXP.match(path)
    if m is None:
        # Not below an experiment (the root, or a path an admin placed elsewhere): admins only.
        return ["__artifact_root__"]
    return [m.group(1)]


_SOURCE_EXP = re.compile(r"^mlflow-artifacts:/+(\d+)(?:/|$)")
_SOURCE_RUN = re.compile(r"^runs:/([^/]+)")
_SOURCE_MODEL = re.compile(r"^models:/(m-[^/]+)")


def version_source(svc: Any, req: ApiRequest) -> list[str]:
    """A new model version may only point at artifacts the caller can read."""
    out = []
    source = req.raw("source")
    if isinstance(source, str):
        for pattern, resolve in (
            (_SOURCE_EXP, lambda v: v),
            (_SOURCE_RUN, svc.experiment_of_run),
            (_SOURCE_MODEL, svc.experiment_of_model),
        ):
            m = pattern.match(source)
            if m:
                out.append(resolve(m.group(1)) or "__unknown__")
    for key, resolve in (("run_id", svc.experiment_of_run), ("model_id", svc.experiment_of_model)):
        value = req.raw(key)
        if isinstance(value, str) and value:
            out.append(resolve(value) or "__unknown__")
    return _ids(out)


def required(locate: Locate) -> Locate:
    """``locate``, or a resource nobody but an admin holds when the request names none: a search
    without an experiment must not list other people's records."""
    return lambda svc, req: locate(svc, req) or ["__unknown__"]


def issue_param(svc: Any, req: ApiRequest) -> list[str]:
    issue_id = req.path_params.get("issue_id") or req.raw("issue_id")
    return _ids([svc.experiment_of_issue(str(issue_id)) or "__unknown__"]) if issue_id else ["__unknown__"]


def dataset_param(svc: Any, req: ApiRequest) -> list[str]:
    """An evaluation dataset's experiments (a dataset in none of them is an admin's)."""
    dataset_id = req.path_params.get("dataset_id") or req.raw("dataset_id")
    return (svc.experiments_of_dataset(str(dataset_id)) if dataset_id else []) or ["__unknown__"]


def exp(need: str, locate: Locate, **kw: Any) -> Access:
    return Access("resource", perms.EXPERIMENT, need, locate, **kw)


def model(need: str, locate: Locate | None = None, **kw: Any) -> Access:
    return Access("resource", perms.REGISTERED_MODEL, need, locate or model_name(), **kw)


# ---------------------------------------------------------------- after-hooks
def creator_of_experiment(svc: Any, user: Any, req: ApiRequest, result: Any) -> Any:
    if isinstance(result, dict) and result.get("experiment_id") is not None:
        svc.grant_creator(user, perms.EXPERIMENT, str(result["experiment_id"]))
    return result


def creator_of_model(svc: Any, user: Any, req: ApiRequest, result: Any) -> Any:
    name = (result or {}).get("registered_model", {}).get("name") if isinstance(result, dict) else None
    if name:
        svc.grant_creator(user, perms.REGISTERED_MODEL, name)
    return result


def renamed_model(svc: Any, user: Any, req: ApiRequest, result: Any) -> Any:
    """Grants follow a registered model to its new name."""
    old, new = req.raw("name"), req.raw("new_name")
    if isinstance(old, str) and isinstance(new, str):
        with svc.store.db.write() as cur:
            cur.execute(
                "UPDATE auth_role_permissions SET resource_pattern = ? WHERE resource_type IN (?, ?) "
                "AND resource_pattern = ?",
                (new, perms.REGISTERED_MODEL, perms.PROMPT, old),
            )
        svc.changed()
    return result


def deleted_model(svc: Any, user: Any, req: ApiRequest, result: Any) -> Any:
    name = req.raw("name")
    if isinstance(name, str):
        for rtype in (perms.REGISTERED_MODEL, perms.PROMPT):
            svc.store.delete_resource_grants(rtype, name)
        svc.changed()
    return result


def _filter(key: str, rtype: str, id_of: Callable[[dict], str]) -> After:
    def after(svc: Any, user: Any, req: ApiRequest, result: Any) -> Any:
        if user.is_admin or not isinstance(result, dict) or key not in result:
            return result
        result[key] = [item for item in result[key] if svc.can(user, rtype, id_of(item))]
        return result

    return after


filter_experiments = _filter("experiments", perms.EXPERIMENT, lambda e: str(e.get("experiment_id")))
filter_models = _filter("registered_models", perms.REGISTERED_MODEL, lambda m: m.get("name", ""))
filter_versions = _filter("model_versions", perms.REGISTERED_MODEL, lambda v: v.get("name", ""))


def no_foreign_location(svc: Any, req: ApiRequest) -> list[str]:
    """Only admins may choose where a new experiment's artifacts live (it could point at another's)."""
    return ["__artifact_root__"] if req.raw("artifact_location") else []


# ---------------------------------------------------------------- the rules
READ_RUN = exp("read", run_param())
EDIT_RUN = exp("update", run_param())

RULES: dict[Callable[..., Any], Access] = {
    # service
    meta.health: PUBLIC,
    meta.version: PUBLIC,
    meta.server_info: PUBLIC,
    # any user; each root field is then checked with its REST handler's rule
    graphql_api.graphql: USER,
    # GenAI: datasets of runs, trace links, issues, evaluation datasets (all follow their experiments)
    datasets.search_datasets: exp("read", required(exp_list())),
    traces.link_traces_to_run: exp("update", run_param(), also=(exp("update", trace_param("trace_ids")),)),
    issues.create_issue: exp("update", exp_param()),
    issues.search_issues: exp("read", required(exp_param())),
    issues.get_issue: exp("read", issue_param),
    issues.update_issue: exp("update", issue_param),
    eval_datasets.create_dataset: exp("update", required(exp_list())),
    eval_datasets.search_datasets: exp("read", required(exp_list())),
    eval_datasets.get_dataset: exp("read", dataset_param),
    eval_datasets.get_dataset_records: exp("read", dataset_param),
    eval_datasets.get_dataset_experiment_ids: exp("read", dataset_param),
    eval_datasets.delete_dataset: exp("delete", dataset_param),
    eval_datasets.set_dataset_tags: exp("update", dataset_param),
    eval_datasets.delete_dataset_tag: exp("update", dataset_param),
    eval_datasets.upsert_dataset_records: exp("update", dataset_param),
    eval_datasets.delete_dataset_records: exp("update", dataset_param),
    eval_datasets.add_dataset_to_experiments: exp("update", dataset_param, also=(exp("update", exp_list()),)),
    eval_datasets.remove_dataset_from_experiments: exp(
        "update", dataset_param, also=(exp("update", exp_list()),)
    ),
    # registered scorers, trace metrics, legacy v2 traces, prompt-engineering runs
    scorers.register_scorer: exp("update", exp_param()),
    scorers.list_scorers: exp(
        "read", required(lambda svc, req: exp_param()(svc, req) + exp_list()(svc, req))
    ),
    scorers.list_scorer_versions: exp("read", required(exp_param())),
    scorers.get_scorer: exp("read", required(exp_param())),
    scorers.delete_scorer: exp("delete", required(exp_param())),
    trace_metrics.query_trace_metrics: exp("read", required(exp_list())),
    trace_metrics.calculate_trace_filter_correlation: exp("read", required(exp_list())),
    traces_v2.start_trace_v2: exp("update", exp_param()),
    traces_v2.end_trace_v2: exp("update", trace_param("request_id")),
    traces_v2.get_trace_info_v2: exp("read", trace_param("request_id")),
    traces_v2.get_trace_artifact: exp("read", trace_param("request_id")),
    promptlab.create_promptlab_run: exp("update", exp_param()),
    # transfer records (labkeep sync, imports into a server) keep the source's ids, owners and
    # times, so they can write anywhere: admins only
    transfer_api.apply_record: ADMIN,
    # experiments
    experiments.get_experiment_by_name: exp("read", exp_by_name()),
    experiments.create_experiment: Access(
        "user", after=creator_of_experiment, also=(exp("manage", no_foreign_location),)
    ),
    experiments.get_experiment: exp("read", exp_param()),
    experiments.search_experiments: Access("user", after=filter_experiments),
    experiments.delete_experiment: exp("delete", exp_param()),
    experiments.restore_experiment: exp("delete", exp_param()),
    experiments.update_experiment: exp("update", exp_param()),
    experiments.set_experiment_tag: exp("update", exp_param()),
    experiments.delete_experiment_tag: exp("update", exp_param()),
    # runs
    runs.create_run: exp("update", exp_param(default="0")),
    runs.update_run: EDIT_RUN,
    runs.delete_run: exp("delete", run_param()),
    runs.restore_run: exp("delete", run_param()),
    runs.get_run: READ_RUN,
    runs.search_runs: exp("read", exp_list()),
    runs.log_metric: EDIT_RUN,
    runs.log_param: EDIT_RUN,
    runs.set_tag: EDIT_RUN,
    runs.delete_tag: EDIT_RUN,
    runs.log_batch: EDIT_RUN,
    runs.log_inputs: EDIT_RUN,
    runs.log_outputs: EDIT_RUN,
    runs.log_model_legacy: EDIT_RUN,
    runs.get_metric_history: READ_RUN,
    runs.get_metric_history_bulk: exp("read", run_param("run_id", "run_ids")),
    runs.get_metric_history_bulk_interval: exp("read", run_param("run_ids")),
    artifacts.list_run_artifacts: READ_RUN,
    # logged models
    logged_models.create_logged_model: exp(
        "update", exp_param(), also=(exp("read", run_param("source_run_id")),)
    ),
    logged_models.search_logged_models: exp("read", exp_list()),
    logged_models.get_logged_model: exp("read", model_param()),
    logged_models.finalize_logged_model: exp("update", model_param()),
    logged_models.delete_logged_model: exp("delete", model_param()),
    logged_models.set_logged_model_tags: exp("update", model_param()),
    logged_models.delete_logged_model_tag: exp("update", model_param()),
    logged_models.log_logged_model_params: exp("update", model_param()),
    logged_models.list_logged_model_artifacts: exp("read", model_param()),
    logged_models.get_logged_model_artifact: exp("read", model_param()),
    # model registry
    registry.create_registered_model: Access("user", after=creator_of_model),
    registry.rename_registered_model: model("manage", after=renamed_model),
    registry.update_registered_model: model("update"),
    registry.delete_registered_model: model("delete", after=deleted_model),
    registry.get_registered_model: model("read"),
    registry.search_registered_models: Access("user", after=filter_models),
    registry.get_latest_versions: model("read"),
    registry.set_registered_model_tag: model("update"),
    registry.delete_registered_model_tag: model("update"),
    registry.set_registered_model_alias: model("update"),
    registry.delete_registered_model_alias: model("update"),
    registry.get_model_version_by_alias: model("read"),
    registry.create_model_version: model("update", also=(exp("read", version_source),)),
    registry.update_model_version: model("update"),
    registry.transition_model_version_stage: model("update"),
    registry.delete_model_version: model("delete"),
    registry.get_model_version: model("read"),
    registry.search_model_versions: Access("user", after=filter_versions),
    registry.get_model_version_download_uri: model("read"),
    registry.set_model_version_tag: model("update"),
    registry.delete_model_version_tag: model("update"),
    registry.get_promotion_history: model("read"),
    # traces and assessments
    traces.start_trace: exp("update", new_trace_experiment),
    traces.search_traces: exp("read", trace_locations),
    traces.batch_get_traces: exp("read", trace_param("trace_ids")),
    traces.get_trace: exp("read", trace_param()),
    traces.get_trace_info: exp("read", trace_param()),
    traces.set_trace_tag: exp("update", trace_param()),
    traces.delete_trace_tag: exp("update", trace_param()),
    traces.delete_traces: exp("delete", exp_param()),
    traces.create_assessment: exp("update", trace_param()),
    traces.get_assessment: exp("read", trace_param()),
    traces.update_assessment: exp("update", trace_param()),
    traces.delete_assessment: exp("update", trace_param()),
    traces.otlp_traces: exp("update", otlp_experiment),
    # artifact proxy (paths are <experiment>/<run>/artifacts/…) and legacy downloads
    artifacts.proxy_list: exp("read", artifact_path),
    artifacts.proxy_download: exp("read", artifact_path),
    artifacts.proxy_upload: exp("update", artifact_path),
    artifacts.proxy_delete: exp("delete", artifact_path),
    artifacts.proxy_mpu_create: exp("update", artifact_path),
    artifacts.proxy_mpu_complete: exp("update", artifact_path),
    artifacts.proxy_mpu_abort: exp("update", artifact_path),
    artifacts.legacy_get_artifact: READ_RUN,
    artifacts.legacy_get_model_version_artifact: model("read"),
    artifacts.legacy_upload_artifact: EDIT_RUN,
    # auth API: admin-only, or "self or admin" / "manager of the resource" checked in the handler
    auth_api.create_user: ADMIN,
    auth_api.get_user: USER,
    auth_api.list_users: ADMIN,
    auth_api.current_user: USER,
    auth_api.update_password: USER,
    auth_api.update_admin: ADMIN,
    auth_api.delete_user: ADMIN,
    auth_api.grant_permission: USER,
    auth_api.revoke_permission: USER,
    auth_api.get_permission: USER,
    auth_api.list_permissions: USER,
    auth_api.current_permissions: USER,
    auth_api.list_user_roles: USER,
    auth_api.create_role: ADMIN,
    auth_api.get_role: ADMIN,
    auth_api.list_roles: ADMIN,
    auth_api.update_role: ADMIN,
    auth_api.delete_role: ADMIN,
    auth_api.add_role_permission: ADMIN,
    auth_api.remove_role_permission: ADMIN,
    auth_api.list_role_permissions: ADMIN,
    auth_api.update_role_permission: ADMIN,
    auth_api.assign_role: ADMIN,
    auth_api.unassign_role: ADMIN,
    auth_api.list_role_users: ADMIN,
    auth_api.create_token: USER,
    auth_api.list_tokens: USER,
    auth_api.revoke_token: USER,
}


def rule_for(handler: Callable[..., Any]) -> Access | None:
    """The declared access of ``handler`` (None: undeclared, refused when auth is on)."""
    return RULES.get(handler)


# ---------------------------------------------------------------- UI pages (labkeep/server/ui/routes.py)
def comma_runs(name: str) -> Locate:
    """Experiments of the runs in a comma-separated query value (``runs=a,b`` or ``run_ids=a,b``)."""

    def locate(svc: Any, req: ApiRequest) -> list[str]:
        raw = ",".join(req.query.get(name, []))
        return _ids([svc.experiment_of_run(r) for r in raw.replace(" ", "").split(",") if r])

    return locate


def run_or_model(svc: Any, req: ApiRequest) -> list[str]:
    if req.raw("model_id"):
        return model_param()(svc, req)
    return run_param("run_id")(svc, req)


def _ui_rules() -> dict[Callable[..., Any], Access]:
    from labkeep.server.auth import ui as auth_ui
    from labkeep.server.ui import (
        compare,
        eval_compare,
        run_page,
        runs_table,
    )
    from labkeep.server.ui import experiments as ui_exps
    from labkeep.server.ui import (
        logged_models as ui_models,
    )
    from labkeep.server.ui import (
        models as ui_registry,
    )
    from labkeep.server.ui import traces as ui_traces

    read_exp = exp("read", exp_param())
    return {
        # lists show what the user may read; actions check each change (ui.permissions.require_edit)
        ui_exps.experiments_page: USER,
        ui_exps.experiment_action: USER,
        ui_exps.logged_models_page: read_exp,
        runs_table.runs_page: read_exp,
        runs_table.columns_api: read_exp,
        runs_table.count_api: read_exp,
        runs_table.children_api: read_exp,
        runs_table.group_series_api: read_exp,
        run_page.run_page: exp("read", run_param("run_id")),
        run_page.run_action: USER,
        run_page.series_api: exp("read", comma_runs("run_ids")),
        run_page.live_api: exp("read", run_param("run_id")),
        run_page.artifacts_api: exp("read", run_or_model),
        run_page.preview_api: exp("read", run_or_model),
        run_page.raw_api: exp("read", run_or_model),
        ui_models.logged_model_page: exp("read", model_param()),
        ui_models.logged_model_action: exp("read", model_param()),
        compare.compare_page: exp("read", comma_runs("runs"), also=(exp("read", exp_param()),)),
        eval_compare.eval_compare_page: exp("read", comma_runs("runs")),
        ui_registry.models_page: USER,
        ui_registry.model_page: model("read"),
        ui_registry.model_action: USER,
        ui_registry.version_page: model("read"),
        ui_registry.version_action: USER,
        ui_traces.traces_page: read_exp,
        ui_traces.trace_page: exp("read", trace_param()),
        auth_ui.login_page: PUBLIC,
        auth_ui.login_submit: PUBLIC,
        auth_ui.logout: PUBLIC,
        auth_ui.account_page: USER,
        auth_ui.token_action: USER,
        auth_ui.users_page: ADMIN,
        auth_ui.users_action: ADMIN,
    }


_UI_RULES: dict[Callable[..., Any], Access] = {}


def ui_rule_for(view: Callable[..., Any]) -> Access | None:
    """The declared access of a UI view (a JSON twin has its page's rule)."""
    if not _UI_RULES:
        _UI_RULES.update(_ui_rules())
    return _UI_RULES.get(getattr(view, "__wrapped__", view))
