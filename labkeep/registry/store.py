"""The ``RegistryStore`` contract every registry backend implements (SQL, REST).

Method names and arguments follow MLflow's model-registry AbstractStore. Beyond mlflow: every
stage transition and alias change is recorded (``get_promotion_history``), and the mutating
promotion methods take an optional ``comment``.
"""

from __future__ import annotations

import getpass
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextvars import ContextVar

from labkeep import config
from labkeep.entities import (
    ModelVersion,
    ModelVersionTag,
    PagedList,
    PromotionEvent,
    RegisteredModel,
    RegisteredModelTag,
)

SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS = 100
SEARCH_REGISTERED_MODELS_MAX_RESULTS = 1000
SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS = 10000
SEARCH_MODEL_VERSIONS_MAX_RESULTS = 200_000

# The user a server request acts for (set by the REST handlers); None outside a request.
acting_user: ContextVar[str | None] = ContextVar("labkeep_registry_acting_user", default=None)


def current_user() -> str | None:
    """Who is making a registry change: the request's user, else the tracking user, else the OS user."""
    user = acting_user.get()
    if user is not None:  # inside a server request: "" means the request named no user
        return user or None
    user = config.TRACKING_USERNAME.get()
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return None


class RegistryStore(ABC):
    """Registered models, model versions, tags, stages, aliases and their promotion history."""

    # ---- registered models
    @abstractmethod
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel: ...

    @abstractmethod
    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel: ...

    @abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...

    @abstractmethod
    def delete_registered_model(self, name: str) -> None: ...

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]: ...

    @abstractmethod
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]: ...

    @abstractmethod
    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None: ...

    @abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...

    # ---- model versions
    @abstractmethod
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
    ) -> ModelVersion: ...

    @abstractmethod
    def update_model_version(
        self, name: str, version: str, description: str | None = None
    ) -> ModelVersion: ...

    @abstractmethod
    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
        comment: str | None = None,
    ) -> ModelVersion: ...

    @abstractmethod
    def delete_model_version(self, name: str, version: str) -> None: ...

    @abstractmethod
    def get_model_version(self, name: str, version: str) -> ModelVersion: ...

    @abstractmethod
    def get_model_version_download_uri(self, name: str, version: str) -> str: ...

    @abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]: ...

    @abstractmethod
    def set_model_version_tag(self, name: str, version: str, tag: ModelVersionTag) -> None: ...

    @abstractmethod
    def delete_model_version_tag(self, name: str, version: str, key: str) -> None: ...

    # ---- aliases
    @abstractmethod
    def set_registered_model_alias(
        self, name: str, alias: str, version: str, comment: str | None = None
    ) -> None: ...

    @abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str, comment: str | None = None) -> None: ...

    @abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    # ---- promotion history (labkeep)
    @abstractmethod
    def get_promotion_history(self, name: str, version: str | None = None) -> list[PromotionEvent]:
        """Stage transitions and alias changes of a model (or one version), oldest first."""

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
