"""Evaluation datasets from Python (mlflow's ``mlflow.genai.datasets``): named sets of records
(inputs, expectations, tags) for GenAI evaluation, linked to experiments.

Works on the store the tracking URI names: a database (SQLite/PostgreSQL/MySQL) or a server.

    ds = labkeep.genai.datasets.create_dataset("qa", experiment_id="1", tags={"team": "ml"})
    ds.merge_records([{"inputs": {"q": "2+2"}, "expectations": {"answer": "4"}}])
    ds.records  # [{'inputs': {...}, 'expectations': {...}, 'dataset_record_id': ..., ...}]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EvaluationDataset",
    "add_dataset_to_experiments",
    "create_dataset",
    "delete_dataset",
    "delete_dataset_tag",
    "get_dataset",
    "remove_dataset_from_experiments",
    "search_datasets",
    "set_dataset_tags",
]


@dataclass
class EvaluationDataset:
    """One evaluation dataset; ``records`` are read from the store when asked for."""

    dataset_id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    experiment_ids: list[str] = field(default_factory=list)
    digest: str | None = None
    created_time: int = 0
    last_update_time: int = 0
    created_by: str | None = None
    last_updated_by: str | None = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> EvaluationDataset:
        tags = d.get("tags") or {}
        return cls(
            dataset_id=d["dataset_id"],
            name=d["name"],
            tags=json.loads(tags) if isinstance(tags, str) else dict(tags),
            experiment_ids=[str(e) for e in d.get("experiment_ids") or []],
            digest=d.get("digest"),
            created_time=int(d.get("created_time") or 0),
            last_update_time=int(d.get("last_update_time") or 0),
            created_by=d.get("created_by"),
            last_updated_by=d.get("last_updated_by"),
        )

    @property
    def records(self) -> list[dict[str, Any]]:
        return _store().get_records(self.dataset_id)

    def merge_records(self, records: Sequence[dict[str, Any]]) -> EvaluationDataset:
        """Add records; one whose inputs are already present has its expectations and tags merged."""
        _store().upsert_records(self.dataset_id, list(records))
        return get_dataset(self.dataset_id)


class _RestDatasets:
    """The same operations through a server's ``/api/3.0/mlflow/datasets`` routes."""

    def __init__(self, uri: str, client: Any = None) -> None:
        from labkeep.stores.rest.http import HostCreds, RestClient

        self.rest = RestClient(HostCreds.from_env(uri), client=client)
        self.base = "/api/3.0/mlflow/datasets"

    def create_dataset(self, name: str, tags: dict | None, experiment_ids: Sequence[str]) -> dict:
        body = {"name": name, "experiment_ids": list(experiment_ids), "tags": json.dumps(tags or {})}
        return self.rest.call("POST", f"{self.base}/create", json_body=body)["dataset"]

    def get_dataset(self, dataset_id: str) -> dict:
        return self.rest.call("GET", f"{self.base}/{dataset_id}")["dataset"]

    def delete_dataset(self, dataset_id: str) -> None:
        self.rest.call("DELETE", f"{self.base}/{dataset_id}")

    def search_datasets(self, experiment_ids, filter_string, max_results, order_by, page_token) -> tuple:
        body = {
            "experiment_ids": list(experiment_ids),
            "max_results": max_results,
            "order_by": list(order_by),
        }
        if filter_string:
            body["filter_string"] = filter_string
        if page_token:
            body["page_token"] = page_token
        resp = self.rest.call("POST", f"{self.base}/search", json_body=body)
        return resp.get("datasets", []), resp.get("next_page_token") or None

    def set_tags(self, dataset_id: str, tags: dict) -> None:
        self.rest.call("PATCH", f"{self.base}/{dataset_id}/tags", json_body={"tags": json.dumps(tags)})

    def delete_tag(self, dataset_id: str, key: str) -> None:
        self.rest.call("DELETE", f"{self.base}/{dataset_id}/tags/{key}")

    def add_experiments(self, dataset_id: str, experiment_ids: Sequence[str]) -> dict:
        body = {"experiment_ids": list(experiment_ids)}
        return self.rest.call("POST", f"{self.base}/{dataset_id}/add-experiments", json_body=body)["dataset"]

    def remove_experiments(self, dataset_id: str, experiment_ids: Sequence[str]) -> dict:
        body = {"experiment_ids": list(experiment_ids)}
        return self.rest.call("POST", f"{self.base}/{dataset_id}/remove-experiments", json_body=body)[
            "dataset"
        ]

    def upsert_records(self, dataset_id: str, records: list) -> dict:
        body = {"records": json.dumps(records)}
        resp = self.rest.call("POST", f"{self.base}/{dataset_id}/records", json_body=body)
        return {"inserted": resp.get("inserted_count", 0), "updated": resp.get("updated_count", 0)}

    def get_records(self, dataset_id: str) -> list:
        out: list = []
        token = None
        while True:
            params: dict[str, Any] = {"max_results": 1000}
            if token:
                params["page_token"] = token
            resp = self.rest.call("GET", f"{self.base}/{dataset_id}/records", params=params)
            out += json.loads(resp.get("records") or "[]")
            token = resp.get("next_page_token")
            if not token:
                return out


class _SqlDatasets:
    """Adapter giving the SQL store the REST adapter's shape (records read page by page)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def get_records(self, dataset_id: str) -> list:
        out: list = []
        token = None
        while True:
            page, token = self.store.get_records(dataset_id, 1000, token)
            out += page
            if not token:
                return out


def _store(tracking_uri: str | None = None) -> Any:
    from labkeep import config

    uri = config.normalize_store_uri(tracking_uri) if tracking_uri else config.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        return _RestDatasets(uri)
    from labkeep.stores.lookup import tracking_database
    from labkeep.stores.sql.eval_datasets import SqlEvalDatasetStore

    return _SqlDatasets(SqlEvalDatasetStore(tracking_database(uri, "hold evaluation datasets")))


def _ids(experiment_id: str | Sequence[str] | None) -> list[str]:
    if experiment_id is None:
        return []
    if isinstance(experiment_id, str | int):
        return [str(experiment_id)]
    return [str(e) for e in experiment_id]


def create_dataset(
    name: str, experiment_id: str | Sequence[str] | None = None, tags: dict[str, Any] | None = None
) -> EvaluationDataset:
    """Create a dataset linked to ``experiment_id`` (one id or a list)."""
    return EvaluationDataset._from(_store().create_dataset(name, tags, _ids(experiment_id)))


def get_dataset(dataset_id: str) -> EvaluationDataset:
    return EvaluationDataset._from(_store().get_dataset(dataset_id))


def delete_dataset(dataset_id: str) -> None:
    _store().delete_dataset(dataset_id)


def search_datasets(
    experiment_ids: str | Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
) -> list[EvaluationDataset]:
    """Datasets of the experiments (all when None), filtered by ``name``/``tags.<key>`` clauses."""
    found, _token = _store().search_datasets(
        _ids(experiment_ids), filter_string, max_results, order_by or [], None
    )
    return [EvaluationDataset._from(d) for d in found]


def set_dataset_tags(dataset_id: str, tags: dict[str, Any]) -> None:
    """Merge ``tags`` into the dataset's tags (a None value removes the tag)."""
    _store().set_tags(dataset_id, tags)


def delete_dataset_tag(dataset_id: str, key: str) -> None:
    _store().delete_tag(dataset_id, key)


def add_dataset_to_experiments(dataset_id: str, experiment_ids: Sequence[str]) -> EvaluationDataset:
    return EvaluationDataset._from(_store().add_experiments(dataset_id, _ids(experiment_ids)))


def remove_dataset_from_experiments(dataset_id: str, experiment_ids: Sequence[str]) -> EvaluationDataset:
    return EvaluationDataset._from(_store().remove_experiments(dataset_id, _ids(experiment_ids)))
