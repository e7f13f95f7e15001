"""``RestRegistryStore``: the RegistryStore contract over a labkeep (or MLflow) server's REST API.

Registry calls follow rest-api.md §6. labkeep extras travel as fields an MLflow server ignores
(``comment``) or use labkeep's own route (promotion history). The acting user is sent in the
``X-Labkeep-User`` header so the server can record who promoted what.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labkeep.entities import (
    ModelVersion,
    ModelVersionTag,
    PagedList,
    PromotionEvent,
    RegisteredModel,
    RegisteredModelTag,
)
from labkeep.registry.store import (
    SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS,
    SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS,
    RegistryStore,
    current_user,
)
from labkeep.stores.rest.http import HostCreds, RestStoreBase, json_answer

API = "/api/2.0/mlflow"
HISTORY_PATH = "/api/2.0/labkeep/registered-models/history"


def make_store(uri: str, client: Any = None) -> RestRegistryStore:
    """The store for an ``http(s)://`` registry URI (auth and TLS settings from the environment)."""
    return RestRegistryStore(HostCreds.from_env(uri), client=client)


def _tags(tags: Sequence[Any] | None) -> list[dict[str, str]] | None:
    return [{"key": t.key, "value": t.value} for t in tags] if tags else None


class RestRegistryStore(RestStoreBase, RegistryStore):
    """Every registry call as one HTTP request."""

    def _call(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None, path: str | None = None
    ) -> dict[str, Any]:
        body = {k: v for k, v in (body or {}).items() if v is not None}
        headers = {}
        user = current_user()
        if user:
            headers["X-Labkeep-User"] = user
        kwargs: dict[str, Any] = {"headers": headers}
        if method == "GET":
            kwargs["params"] = [
                (k, str(x).lower() if isinstance(x, bool) else str(x))
                for k, v in body.items()
                for x in (v if isinstance(v, list) else [v])
            ]
        else:
            headers["Content-Type"] = "application/json"
            kwargs["content"] = json.dumps(body, allow_nan=False).encode()
        resp = self.rest.request(method, path or f"{API}/{endpoint}", **kwargs)
        return json_answer(resp, self.rest.creds.host, endpoint)

    # ---- registered models
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        resp = self._call(
            "POST",
            "registered-models/create",
            {
                "name": name,
                "tags": _tags(tags),
                "description": description,
                "deployment_job_id": deployment_job_id,
            },
        )
        return RegisteredModel.from_dict(resp["registered_model"])

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        resp = self._call(
            "PATCH",
            "registered-models/update",
            {"name": name, "description": description, "deployment_job_id": deployment_job_id},
        )
        return RegisteredModel.from_dict(resp["registered_model"])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        resp = self._call("POST", "registered-models/rename", {"name": name, "new_name": new_name})
        return RegisteredModel.from_dict(resp["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "registered-models/delete", {"name": name})

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.from_dict(
            self._call("GET", "registered-models/get", {"name": name})["registered_model"]
        )

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        resp = self._call(
            "GET",
            "registered-models/search",
            {
                "filter": filter_string or None,
                "max_results": max_results,
                "order_by": list(order_by) if order_by else None,
                "page_token": page_token or None,
            },
        )
        models = [RegisteredModel.from_dict(m) for m in resp.get("registered_models", [])]
        return PagedList(models, resp.get("next_page_token") or None)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        resp = self._call(
            "POST",
            "registered-models/get-latest-versions",
            {"name": name, "stages": list(stages) if stages else None},
        )
        return [ModelVersion.from_dict(v) for v in resp.get("model_versions", [])]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        self._call("POST", "registered-models/set-tag", {"name": name, "key": tag.key, "value": tag.value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", "registered-models/delete-tag", {"name": name, "key": key})

    # ---- model versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        resp = self._call(
            "POST",
            "model-versions/create",
            {
                "name": name,
                "source": source,
                "run_id": run_id,
                "tags": _tags(tags),
                "run_link": run_link,
                "description": description,
                "model_id": model_id,
            },
        )
        return ModelVersion.from_dict(resp["model_version"])

    def update_model_version(self, name: str, version: str, description: str | None = None) -> ModelVersion:
        resp = self._call(
            "PATCH",
            "model-versions/update",
            {"name": name, "version": str(version), "description": description},
        )
        return ModelVersion.from_dict(resp["model_version"])

    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
        comment: str | None = None,
    ) -> ModelVersion:
        resp = self._call(
            "POST",
            "model-versions/transition-stage",
            {
                "name": name,
                "version": str(version),
                "stage": stage,
                "archive_existing_versions": bool(archive_existing_versions),
                "comment": comment,
            },
        )
        return ModelVersion.from_dict(resp["model_version"])

    def delete_model_version(self, name: str, version: str) -> None:
        self._call("DELETE", "model-versions/delete", {"name": name, "version": str(version)})

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        resp = self._call("GET", "model-versions/get", {"name": name, "version": str(version)})
        return ModelVersion.from_dict(resp["model_version"])

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        resp = self._call("GET", "model-versions/get-download-uri", {"name": name, "version": str(version)})
        uri: str = resp["artifact_uri"]
        return uri

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        resp = self._call(
            "GET",
            "model-versions/search",
            {
                "filter": filter_string or None,
                "max_results": max_results,
                "order_by": list(order_by) if order_by else None,
                "page_token": page_token or None,
            },
        )
        versions = [ModelVersion.from_dict(v) for v in resp.get("model_versions", [])]
        return PagedList(versions, resp.get("next_page_token") or None)

    def set_model_version_tag(self, name: str, version: str, tag: ModelVersionTag) -> None:
        self._call(
            "POST",
            "model-versions/set-tag",
            {"name": name, "version": str(version), "key": tag.key, "value": tag.value},
        )

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        self._call("DELETE", "model-versions/delete-tag", {"name": name, "version": str(version), "key": key})

    # ---- aliases
    def set_registered_model_alias(
        self, name: str, alias: str, version: str, comment: str | None = None
    ) -> None:
        self._call(
            "POST",
            "registered-models/alias",
            {"name": name, "alias": alias, "version": str(version), "comment": comment},
        )

    def delete_registered_model_alias(self, name: str, alias: str, comment: str | None = None) -> None:
        self._call("DELETE", "registered-models/alias", {"name": name, "alias": alias, "comment": comment})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        resp = self._call("GET", "registered-models/alias", {"name": name, "alias": alias})
        return ModelVersion.from_dict(resp["model_version"])

    # ---- promotion history
    def get_promotion_history(self, name: str, version: str | None = None) -> list[PromotionEvent]:
        body = {"name": name, "version": None if version is None else str(version)}
        resp = self._call("GET", "history", body, path=HISTORY_PATH)
        return [PromotionEvent.from_dict(e) for e in resp.get("events", [])]
