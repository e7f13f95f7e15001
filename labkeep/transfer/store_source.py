"""Reader over the store contracts: a labkeep store (SQL or server) or an MLflow server's REST API.

Everything is read through ``search_*`` and ``get_metric_history`` with paging, so it works on
any backend that speaks the tracking and registry contracts, including MLflow's own server.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from labkeep.transfer.base import Source
from labkeep.transfer.records import Problem

if TYPE_CHECKING:
    from labkeep.registry.store import RegistryStore
    from labkeep.stores.base import TrackingStore

PAGE = 1000


def _pages(call: Any, **kwargs: Any) -> Iterator[Any]:
    token = None
    while True:
        page = call(page_token=token, **kwargs)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


class StoreSource(Source):
    """Reads experiments, runs, logged models and the registry of the store at ``uri``."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.tracking: TrackingStore
        self.registry: RegistryStore
        self.remote = uri.startswith(("http://", "https://"))
        if self.remote:
            from labkeep.stores.rest.registry import make_store as registry
            from labkeep.stores.rest.tracking import make_store as tracking

            self.tracking, self.registry = tracking(uri), registry(uri)
        else:
            from labkeep.config import default_artifact_root
            from labkeep.stores.lookup import open_registry_store, open_tracking_store

            self.tracking = open_tracking_store(uri, default_artifact_root(uri))
            self.registry = open_registry_store(uri)
        self.artifact_server = uri if self.remote else None
        self.description = ("server " if self.remote else "store ") + uri.rsplit("@", 1)[-1]

    def close(self) -> None:
        for store in (self.tracking, self.registry):
            try:
                store.close()
            except Exception:
                pass

    # ------------------------------------------------------------ experiments and runs
    def experiments(self) -> list[dict[str, Any] | Problem]:
        from labkeep.entities import ViewType

        return [
            {
                "experiment_id": e.experiment_id,
                "name": e.name,
                "artifact_location": e.artifact_location,
                "lifecycle_stage": e.lifecycle_stage,
                "creation_time": e.creation_time,
                "last_update_time": e.last_update_time,
                "tags": dict(e.tags),
            }
            for e in _pages(self.tracking.search_experiments, view_type=ViewType.ALL, max_results=PAGE)
        ]

    def _runs(self, experiment_id: str) -> Iterator[Any]:
        from labkeep.entities import ViewType

        return _pages(
            self.tracking.search_runs,
            experiment_ids=[experiment_id],
            run_view_type=ViewType.ALL,
            max_results=PAGE,
        )

    def count_runs(self, experiment_id: str) -> int:
        return sum(1 for _ in self._runs(experiment_id))

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        for run in self._runs(experiment_id):
            info, data = run.info, run.data
            try:
                points = []
                for key in data.metrics:
                    for m in _pages(self.tracking.get_metric_history, run_id=info.run_id, metric_key=key):
                        points.append([key, float(m.value), int(m.timestamp), int(m.step)])
            except Exception as exc:
                yield Problem("run", info.run_id, f"cannot read its metric history: {exc}")
                continue
            inputs = run.inputs
            outputs = getattr(run, "outputs", None)
            yield {
                "run_id": info.run_id,
                "experiment_id": experiment_id,
                "name": info.run_name or "",
                "user_id": info.user_id or "",
                "status": info.status,
                "start_time": info.start_time,
                "end_time": info.end_time,
                "deleted_time": None,
                "artifact_uri": info.artifact_uri or "",
                "lifecycle_stage": info.lifecycle_stage,
                "params": dict(data.params),
                "tags": dict(data.tags),
                "metrics": points,
                "inputs": [
                    {
                        "dataset": {
                            "name": d.dataset.name,
                            "digest": d.dataset.digest,
                            "source_type": d.dataset.source_type,
                            "source": d.dataset.source,
                            "schema": d.dataset.schema,
                            "profile": d.dataset.profile,
                        },
                        "tags": {t.key: t.value for t in d.tags},
                    }
                    for d in (inputs.dataset_inputs if inputs else [])
                ],
                "outputs": [
                    {"model_id": o.model_id, "step": int(o.step)}
                    for o in (outputs.model_outputs if outputs else [])
                ],
                "model_inputs": [m.model_id for m in (inputs.model_inputs if inputs else [])],
            }

    # ------------------------------------------------------------ logged models
    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        from labkeep.entities import LoggedModelStatus

        try:
            models = list(
                _pages(self.tracking.search_logged_models, experiment_ids=[experiment_id], max_results=100)
            )
        except Exception as exc:  # a server without logged models (MLflow 2.x)
            if "404" in str(exc) or "ENDPOINT_NOT_FOUND" in str(exc):
                return
            raise
        for m in models:
            yield {
                "model_id": m.model_id,
                "experiment_id": experiment_id,
                "name": m.name,
                "artifact_location": m.artifact_location,
                "creation_timestamp": m.creation_timestamp,
                "last_updated_timestamp": m.last_updated_timestamp,
                "status": LoggedModelStatus.to_int(m.status),
                "lifecycle_stage": "active",
                "model_type": m.model_type,
                "source_run_id": m.source_run_id,
                "status_message": m.status_message,
                "params": dict(m.params),
                "tags": dict(m.tags),
                "metrics": [
                    [
                        x.key,
                        float(x.value) if x.value is not None else math.nan,
                        int(x.timestamp),
                        int(x.step),
                        x.run_id,
                        x.dataset_name,
                        x.dataset_digest,
                    ]
                    for x in m.metrics
                ],
            }

    # ------------------------------------------------------------ traces
    def traces(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        from labkeep.stores import get_trace_store

        store = get_trace_store(self.uri)
        token = None
        while True:
            infos, token = store.search_traces([experiment_id], max_results=100, page_token=token)
            for info in infos:
                try:
                    spans = store.get_spans(info.trace_id)
                except Exception as exc:
                    yield Problem("trace", info.trace_id, f"cannot read its spans: {exc}")
                    continue
                yield {
                    "trace_id": info.trace_id,
                    "experiment_id": experiment_id,
                    "request_time": info.request_time,
                    "execution_duration": info.execution_duration,
                    "state": str(info.state),
                    "request_preview": info.request_preview,
                    "response_preview": info.response_preview,
                    "client_request_id": info.client_request_id,
                    "tags": dict(info.tags),
                    "metadata": dict(info.trace_metadata),
                    "spans": [dict(s) for s in spans],
                }
            if not token:
                return

    # ------------------------------------------------------------ registry
    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        for rm in _pages(self.registry.search_registered_models, max_results=PAGE):
            escaped = rm.name.replace("'", "\\'")
            versions = list(
                _pages(
                    self.registry.search_model_versions, filter_string=f"name='{escaped}'", max_results=PAGE
                )
            )
            aliases = rm.aliases if isinstance(rm.aliases, dict) else {}
            yield {
                "name": rm.name,
                "creation_time": rm.creation_timestamp,
                "last_updated_time": rm.last_updated_timestamp,
                "description": rm.description,
                "tags": dict(rm.tags),
                "aliases": {a: int(v) for a, v in aliases.items()},
                "versions": [
                    {
                        "version": int(v.version),
                        "creation_time": v.creation_timestamp,
                        "last_updated_time": v.last_updated_timestamp,
                        "description": v.description,
                        "user_id": v.user_id,
                        "current_stage": v.current_stage,
                        "source": v.source or "",
                        "storage_location": getattr(v, "storage_location", None),
                        "run_id": v.run_id,
                        "run_link": v.run_link,
                        "model_id": v.model_id,
                        "status": v.status,
                        "status_message": v.status_message,
                        "tags": dict(v.tags),
                    }
                    for v in sorted(versions, key=lambda v: int(v.version))
                ],
            }
