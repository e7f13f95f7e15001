"""Model registry operations of ``Client`` (MlflowClient's names and signatures) and ``register_model``.

``RegistryClientMixin`` is mixed into ``labkeep.client.Client``, which provides ``_registry_store``
(a ``RegistryStore``) and ``_tracking_store``. Beyond mlflow: ``get_promotion_history`` and an
optional ``comment`` on stage transitions and alias changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkeep.entities import (
    ModelVersion,
    ModelVersionTag,
    PagedList,
    PromotionEvent,
    RegisteredModel,
    RegisteredModelTag,
)
from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist

if TYPE_CHECKING:
    from labkeep.registry.store import RegistryStore
    from labkeep.stores.base import TrackingStore


def _rm_tags(tags: dict[str, Any] | None) -> list[RegisteredModelTag]:
    return [RegisteredModelTag(str(k), "" if v is None else str(v)) for k, v in (tags or {}).items()]


def _mv_tags(tags: dict[str, Any] | None) -> list[ModelVersionTag]:
    return [ModelVersionTag(str(k), "" if v is None else str(v)) for k, v in (tags or {}).items()]


class RegistryClientMixin:
    """Registered models, versions, stages, aliases and promotion history."""

    if TYPE_CHECKING:  # provided by Client

        @property
        def _registry_store(self) -> RegistryStore: ...

        @property
        def _tracking_store(self) -> TrackingStore: ...

    # ------------------------------------------------------------ registered models
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model (a name that model versions are registered under)."""
        return self._registry_store.create_registered_model(
            name, _rm_tags(tags), description, deployment_job_id
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions and aliases follow."""
        return self._registry_store.rename_registered_model(name, new_name)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Change a registered model's description."""
        return self._registry_store.update_registered_model(name, description, deployment_job_id)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model and all its versions."""
        self._registry_store.delete_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model with its latest versions, tags and aliases."""
        return self._registry_store.get_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models matching ``filter_string`` (e.g. ``name LIKE 'fraud%'``)."""
        return self._registry_store.search_registered_models(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage (or in the given stages)."""
        return self._registry_store.get_latest_versions(name, stages)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model."""
        self._registry_store.set_registered_model_tag(name, RegisteredModelTag(key, str(value)))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self._registry_store.delete_registered_model_tag(name, key)

    # ------------------------------------------------------------ model versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> ModelVersion:
        # Versions are READY when created (no asynchronous registration), so nothing to await.
        """Register a new version (numbered 1, 2, ...) of a model from a source URI."""
        return self._registry_store.create_model_version(
            name, source, run_id, _mv_tags(tags), run_link, description, model_id=model_id
        )

    def update_model_version(self, name: str, version: str, description: str | None = None) -> ModelVersion:
        """Change a model version's description."""
        return self._registry_store.update_model_version(name, str(version), description)

    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
        comment: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage (``Staging``, ``Production``, ``Archived`` or a user-defined one)."""
        return self._registry_store.transition_model_version_stage(
            name, str(version), stage, archive_existing_versions, comment=comment
        )

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete one model version."""
        self._registry_store.delete_model_version(name, str(version))

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """One model version."""
        return self._registry_store.get_model_version(name, str(version))

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """The artifact URI a model version's files can be downloaded from."""
        return self._registry_store.get_model_version_download_uri(name, str(version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Model versions matching ``filter_string`` (e.g. ``name = 'm' and run_id = '...'``)."""
        return self._registry_store.search_model_versions(filter_string, max_results, order_by, page_token)

    def _version_for(self, name: str, version: str | None, stage: str | None) -> str:
        if version is not None and stage is not None:
            raise InvalidParameterValue("Give either a version or a stage, not both.")
        if version is not None:
            return str(version)
        if stage is None:
            raise InvalidParameterValue("Give a version (or a stage) of the model.")
        latest = self.get_latest_versions(name, [stage])
        if not latest:
            raise ResourceDoesNotExist(f"Registered model {name!r} has no version in stage {stage!r}.")
        return latest[0].version

    def set_model_version_tag(
        self,
        name: str,
        version: str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set a tag on a model version."""
        if key is None:
            raise InvalidParameterValue("Missing value for required parameter 'key'.")
        number = self._version_for(name, version, stage)
        self._registry_store.set_model_version_tag(name, number, ModelVersionTag(key, str(value)))

    def delete_model_version_tag(
        self, name: str, version: str | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        """Remove a tag from a model version."""
        if key is None:
            raise InvalidParameterValue("Missing value for required parameter 'key'.")
        self._registry_store.delete_model_version_tag(name, self._version_for(name, version, stage), key)

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register the model at ``src_model_uri`` (a ``models:/`` URI) as a new version of ``dst_name``."""
        from labkeep.registry.uris import resolve_models_uri_version

        resolved = resolve_models_uri_version(self, src_model_uri)
        src = self.get_model_version(*resolved) if resolved else None
        _ensure_registered_model(self, dst_name)
        return self._registry_store.create_model_version(
            dst_name,
            src_model_uri,
            src.run_id if src else None,
            None,
            src.run_link if src else None,
            src.description if src else None,
            model_id=src.model_id if src else None,
        )

    # ------------------------------------------------------------ aliases
    def set_registered_model_alias(
        self, name: str, alias: str, version: str, comment: str | None = None
    ) -> None:
        """Point an alias (e.g. ``champion``) at a model version."""
        self._registry_store.set_registered_model_alias(name, alias, str(version), comment=comment)

    def delete_registered_model_alias(self, name: str, alias: str, comment: str | None = None) -> None:
        """Remove an alias from a registered model."""
        self._registry_store.delete_registered_model_alias(name, alias, comment=comment)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The model version an alias points at."""
        return self._registry_store.get_model_version_by_alias(name, alias)

    # ------------------------------------------------------------ history (labkeep)
    def get_promotion_history(self, name: str, version: str | None = None) -> list[PromotionEvent]:
        """Every stage transition and alias change of model ``name`` (or one version), oldest first."""
        return self._registry_store.get_promotion_history(name, None if version is None else str(version))

    # ------------------------------------------------------------ registration
    def register_model(
        self,
        model_uri: str,
        name: str,
        await_registration_for: int = 300,
        *,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Create ``name`` if needed and add the model at ``model_uri`` as its next version."""
        return _register(self, model_uri, name, tags=tags, description=description)


def _ensure_registered_model(client: Any, name: str) -> None:
    try:
        client.create_registered_model(name)
    except LabkeepException as exc:
        if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise


def _logged_model_for_run_path(client: Any, run_id: str, path: str) -> Any:
    """The logged model a ``runs:/<run>/<name>`` URI means in the MLflow 3 layout, if any."""
    first = path.strip("/").split("/", 1)[0]
    if not first or "'" in first:
        return None
    try:
        run = client._tracking_store.get_run(run_id)
        found = client._tracking_store.search_logged_models(
            [run.info.experiment_id], filter_string=f"name = '{first}'"
        )
    except LabkeepException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ResourceDoesNotExist(f"Run with id={run_id!r} not found.") from None
        raise
    matches = [m for m in found if m.source_run_id == run_id]
    return max(matches, key=lambda m: m.creation_timestamp) if matches else None


def _register(
    client: Any,
    model_uri: str,
    name: str,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    if not isinstance(model_uri, str) or not model_uri:
        raise InvalidParameterValue("model_uri must be a non-empty string.")
    _ensure_registered_model(client, name)
    source, run_id, model_id = model_uri, None, None
    if model_uri.startswith("runs:/"):
        run_id, _, path = model_uri[len("runs:/") :].lstrip("/").partition("/")
        logged = _logged_model_for_run_path(client, run_id, path) if path else None
        if logged is not None and path.strip("/") == logged.name:
            source, model_id = f"models:/{logged.model_id}", logged.model_id
    elif model_uri.startswith("models:/"):
        from labkeep.registry.uris import parse_models_uri

        ref = parse_models_uri(model_uri)
        model_id = ref.model_id
    return client.create_model_version(
        name, source, run_id=run_id, tags=tags, description=description, model_id=model_id
    )


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
    env_pack: Any = None,
    description: str | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` (``runs:/…``, ``models:/…`` or an artifact URI) under ``name``.

    Creates the registered model when it does not exist yet and returns the new version (READY).
    ``await_registration_for`` and ``env_pack`` are accepted for mlflow compatibility; versions are
    READY at once and no environment is packed.
    """
    from labkeep.client import Client

    return _register(Client(), model_uri, name, tags=tags, description=description)


def _collect(fetch: Any, max_results: int | None, page_size: int) -> list[Any]:
    found: list[Any] = []
    token = None
    while max_results is None or len(found) < max_results:
        size = page_size if max_results is None else min(page_size, max_results - len(found))
        page = fetch(size, token)
        found += page
        token = page.token
        if not token:
            break
    return found


def search_registered_models(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[RegisteredModel]:
    """Every registered model matching ``filter_string`` (all pages, or the first ``max_results``)."""
    from labkeep.client import Client

    client = Client()
    return _collect(
        lambda size, token: client.search_registered_models(filter_string, size, order_by, token),
        max_results,
        1000,
    )


def search_model_versions(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[ModelVersion]:
    """Every model version matching ``filter_string`` (all pages, or the first ``max_results``)."""
    from labkeep.client import Client

    client = Client()
    return _collect(
        lambda size, token: client.search_model_versions(filter_string, size, order_by, token),
        max_results,
        10000,
    )
