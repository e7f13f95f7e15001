"""``RestTrackingStore``: the TrackingStore contract over a labkeep (or MLflow) server's REST API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkeep.entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.stores.base import (
    SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS,
    SEARCH_RUNS_DEFAULT_MAX_RESULTS,
    TrackingStore,
)
from labkeep.stores.rest.http import HostCreds, RestStoreBase

API = "/api/2.0/mlflow"
HISTORY_PAGE = 25000


def make_store(uri: str, client: Any = None) -> RestTrackingStore:
    """The store for an ``http(s)://`` tracking URI (auth and TLS settings from the environment)."""
    return RestTrackingStore(HostCreds.from_env(uri), client=client)


def _view_name(view_type: int | str) -> str:
    return ViewType.to_string(ViewType.from_string(view_type))


class RestTrackingStore(RestStoreBase, TrackingStore):
    """Every tracking call as one (or, for big batches, a few) HTTP requests."""

    def _get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        return self.rest.call("GET", f"{API}/{endpoint}", params=params)

    def _post(self, endpoint: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        return self.rest.call(
            method, f"{API}/{endpoint}", json_body={k: v for k, v in body.items() if v is not None}
        )

    # ---- experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] | None = None
    ) -> str:
        body = {
            "name": name,
            "artifact_location": artifact_location,
            "tags": [t.to_dict() for t in tags or []],
        }
        return str(self._post("experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.from_dict(
            self._get("experiments/get", experiment_id=str(experiment_id))["experiment"]
        )

    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        try:
            resp = self._get("experiments/get-by-name", experiment_name=experiment_name)
        except LabkeepException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return Experiment.from_dict(resp["experiment"])

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = {
            "view_type": _view_name(view_type),
            "max_results": max_results,
            "filter": filter_string or None,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        resp = self._post("experiments/search", body)
        return PagedList(
            [Experiment.from_dict(e) for e in resp.get("experiments", [])],
            resp.get("next_page_token") or None,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._post("experiments/delete", {"experiment_id": str(experiment_id)})

    def restore_experiment(self, experiment_id: str) -> None:
        self._post("experiments/restore", {"experiment_id": str(experiment_id)})

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._post("experiments/update", {"experiment_id": str(experiment_id), "new_name": new_name})

    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        self._post(
            "experiments/set-experiment-tag",
            {"experiment_id": str(experiment_id), "key": tag.key, "value": tag.value},
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._post("experiments/delete-experiment-tag", {"experiment_id": str(experiment_id), "key": key})

    # ---- runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        body = {
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "start_time": start_time,
            "tags": [t.to_dict() for t in tags or []],
            "run_name": run_name,
        }
        return Run.from_dict(self._post("runs/create", body)["run"])

    def get_run(self, run_id: str) -> Run:
        return Run.from_dict(self._get("runs/get", run_id=run_id, run_uuid=run_id)["run"])

    def update_run_info(
        self, run_id: str, run_status: str | None, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        if run_status is not None:  # the server ignores unknown names (reference quirk); refuse here
            run_status = RunStatus.validate(run_status)
        body = {
            "run_id": run_id,
            "run_uuid": run_id,
            "status": run_status,
            "end_time": end_time,
            "run_name": run_name,
        }
        return RunInfo.from_dict(self._post("runs/update", body)["run_info"])

    def delete_run(self, run_id: str) -> None:
        self._post("runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self._post("runs/restore", {"run_id": run_id})

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self._post("runs/log-metric", {**_metric_dict(metric), "run_id": run_id, "run_uuid": run_id})

    def log_param(self, run_id: str, param: Param) -> None:
        self._post(
            "runs/log-parameter",
            {"run_id": run_id, "run_uuid": run_id, "key": param.key, "value": param.value},
        )

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self._post("runs/set-tag", {"run_id": run_id, "run_uuid": run_id, "key": tag.key, "value": tag.value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("runs/delete-tag", {"run_id": run_id, "key": key})

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        # One request, so the server applies it all-or-nothing; labkeep.Client splits big batches
        # into requests within the limits before they reach the store (limits-and-defaults.md §1).
        body = {
            "run_id": run_id,
            "metrics": [_metric_dict(x) for x in metrics],
            "params": [x.to_dict() for x in params],
            "tags": [x.to_dict() for x in tags],
        }
        self._post("runs/log-batch", body)

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        if max_results is not None:
            resp = self._get(
                "metrics/get-history",
                run_id=run_id,
                run_uuid=run_id,
                metric_key=metric_key,
                max_results=max_results,
                page_token=page_token,
            )
            return PagedList(_metrics(resp), resp.get("next_page_token") or None)
        points: list[Metric] = []
        token = page_token
        while True:
            resp = self._get(
                "metrics/get-history",
                run_id=run_id,
                run_uuid=run_id,
                metric_key=metric_key,
                max_results=HISTORY_PAGE,
                page_token=token,
            )
            points += _metrics(resp)
            token = resp.get("next_page_token")
            if not token:
                return PagedList(points, None)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_RUNS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string or None,
            "run_view_type": _view_name(run_view_type),
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        resp = self._post("runs/search", body)
        return PagedList(
            [Run.from_dict(r) for r in resp.get("runs", [])], resp.get("next_page_token") or None
        )

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        body = {
            "run_id": run_id,
            "datasets": [d.to_dict() for d in datasets or []],
            "models": [m.to_dict() for m in models or []],
        }
        self._post("runs/log-inputs", body)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        self._post("runs/outputs", {"run_id": run_id, "models": [m.to_dict() for m in models]})

    # ---- logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[RunTag] | None = None,
        params: Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        params = list(params or [])
        body = {
            "experiment_id": str(experiment_id),
            "name": name,
            "source_run_id": source_run_id,
            "tags": [t.to_dict() for t in tags or []],
            "params": [p.to_dict() for p in params[:100]],
            "model_type": model_type,
        }
        model = LoggedModel.from_dict(self._post("logged-models", body)["model"])
        if len(params) > 100:
            self.log_logged_model_params(model.model_id, params[100:])
            model = self.get_logged_model(model.model_id)
        return model

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        params = {"allow_deleted": True} if allow_deleted else {}
        return LoggedModel.from_dict(self._get(f"logged-models/{model_id}", **params)["model"])

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        body = {"model_id": model_id, "status": status}
        return LoggedModel.from_dict(self._post(f"logged-models/{model_id}", body, method="PATCH")["model"])

    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None:
        self._post(f"logged-models/{model_id}/tags", {"tags": [t.to_dict() for t in tags]}, method="PATCH")

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        from urllib.parse import quote

        self._post(f"logged-models/{model_id}/tags/{quote(key, safe='')}", {}, method="DELETE")

    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        params = list(params)
        for i in range(0, len(params), 100):
            chunk = [p.to_dict() for p in params[i : i + 100]]
            self._post(f"logged-models/{model_id}/params", {"model_id": model_id, "params": chunk})

    def delete_logged_model(self, model_id: str) -> None:
        self._post(f"logged-models/{model_id}", {"model_id": model_id}, method="DELETE")

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string or None,
            "datasets": list(datasets or []),
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        resp = self._post("logged-models/search", body)
        return PagedList(
            [LoggedModel.from_dict(m) for m in resp.get("models", [])], resp.get("next_page_token") or None
        )


def _metrics(resp: dict[str, Any]) -> list[Metric]:
    return [Metric.from_dict(m) for m in resp.get("metrics", [])]


def _metric_dict(metric: Metric) -> dict[str, Any]:
    """A metric's JSON, refusing values the wire format cannot carry (checked before sending)."""
    value = metric.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterValue(f"Metric {metric.key!r} value must be a number, got {value!r}.")
    for name in ("timestamp", "step"):
        v = getattr(metric, name)
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidParameterValue(f"Metric {metric.key!r} {name} must be an integer, got {v!r}.")
    return metric.to_dict()
