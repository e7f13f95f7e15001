"""``Client``: explicit, stateless tracking operations (MlflowClient's method names and signatures).

Every call goes to the store for the tracking URI (a SQL database or a labkeep/MLflow server);
artifact calls go to the artifact repository of the run's or model's artifact URI.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkeep.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    MetricColumns,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from labkeep.exceptions import InvalidParameterValue
from labkeep.registry.client import RegistryClientMixin
from labkeep.utils import validation as v
from labkeep.utils.clock import now_ms

if TYPE_CHECKING:
    from labkeep.registry.store import RegistryStore
    from labkeep.stores.base import TrackingStore


class Client(RegistryClientMixin):
    """A client for one tracking store (and its model registry).

    ``Client()`` uses the tracking URI in force (see ``labkeep.set_tracking_uri``);
    ``Client("http://host:5000")`` or ``Client("postgresql://…")`` targets another store.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        from labkeep import config

        self._tracking_uri = (
            config.normalize_store_uri(tracking_uri) if tracking_uri else config.get_tracking_uri()
        )
        if registry_uri:
            self._registry_uri = config.normalize_store_uri(registry_uri)
        elif tracking_uri:
            self._registry_uri = self._tracking_uri
        else:
            self._registry_uri = config.get_registry_uri()
        self._artifact_uris: dict[str, str] = {}
        self._store_cache: tuple[int, TrackingStore] | None = None

    @property
    def tracking_uri(self) -> str:
        """The tracking URI this client talks to."""
        return self._tracking_uri

    @property
    def _tracking_store(self) -> TrackingStore:
        cached = self._store_cache
        if cached is not None and cached[0] == os.getpid():
            return cached[1]
        from labkeep.stores import get_tracking_store

        store = get_tracking_store(self._tracking_uri)
        self._store_cache = (os.getpid(), store)
        return store

    @property
    def _registry_store(self) -> RegistryStore:
        from labkeep.stores import get_registry_store

        return get_registry_store(self._registry_uri)

    # ------------------------------------------------------------ experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment and return its id; ``artifact_location`` defaults to the store's root."""
        tag_list = [RunTag(k, str(val)) for k, val in (tags or {}).items()]
        return self._tracking_store.create_experiment(name, artifact_location, tag_list)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (raises ``RESOURCE_DOES_NOT_EXIST`` when there is none)."""
        return self._tracking_store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or ``None``."""
        return self._tracking_store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments matching ``filter_string`` (e.g. ``name LIKE 'demo%'``), one page at a time."""
        return self._tracking_store.search_experiments(
            ViewType.from_string(view_type),
            1000 if max_results is None else max_results,
            filter_string,
            order_by,
            page_token,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment and its runs deleted (restorable until garbage-collected)."""
        self._tracking_store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Bring a deleted experiment back."""
        self._tracking_store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new, unused name."""
        self._tracking_store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment (the value is stored as a string)."""
        self._tracking_store.set_experiment_tag(str(experiment_id), RunTag(key, str(value)))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        self._tracking_store.delete_experiment_tag(str(experiment_id), key)

    # ------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Start a run in an experiment and return it; ``mlflow.user`` defaults to the current user."""
        from labkeep.context import default_user

        tags = dict(tags or {})
        user = tags.get("mlflow.user") or default_user()
        return self._tracking_store.create_run(
            experiment_id=str(experiment_id),
            user_id=user,
            start_time=start_time if start_time is not None else now_ms(),
            tags=[RunTag(k, str(val)) for k, val in tags.items()],
            run_name=run_name,
        )

    def get_run(self, run_id: str) -> Run:
        """The run with its info, params, latest metrics, tags and inputs."""
        return self._tracking_store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """The parent of a nested run, or ``None`` for a top-level run."""
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> RunInfo:
        """Change a run's status and/or name."""
        return self._tracking_store.update_run_info(run_id, status, None, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> RunInfo:
        """End a run: status ``FINISHED`` unless given, end time now unless given."""
        status = RunStatus.validate(status or RunStatus.FINISHED)
        return self._tracking_store.update_run_info(run_id, status, end_time or now_ms(), None)

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (restorable)."""
        self._tracking_store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Bring a deleted run back."""
        self._tracking_store.restore_run(run_id)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Log one metric point; ``timestamp`` defaults to now, ``step`` to 0."""
        metric = Metric(
            key,
            _to_float(key, value),
            now_ms() if timestamp is None else timestamp,
            step or 0,
            model_id,
            dataset_name,
            dataset_digest,
        )
        self._tracking_store.log_metric(run_id, metric)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a parameter (stored as a string; a param cannot change once logged). Returns ``value``."""
        self._tracking_store.log_param(run_id, Param(key, _stringify(value)))
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set a run tag (the value is stored as a string)."""
        self._tracking_store.set_tag(run_id, RunTag(key, _stringify(value)))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""
        self._tracking_store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log many values at once; split into requests within the per-request limits."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        if not (metrics or params or tags):
            return
        store = self._tracking_store
        if (
            len(metrics) <= v.MAX_BATCH_METRICS
            and len(params) <= v.MAX_BATCH_PARAMS
            and len(tags) <= v.MAX_BATCH_TAGS
            and len(metrics) + len(params) + len(tags) <= v.MAX_BATCH_ENTITIES
        ):
            store.log_batch(run_id, metrics, params, tags)
            return
        # Params and tags first, 100 at a time; metrics fill each request up to 1000 entities.
        while params or tags or metrics:
            p, params = params[: v.MAX_BATCH_PARAMS], params[v.MAX_BATCH_PARAMS :]
            t, tags = tags[: v.MAX_BATCH_TAGS], tags[v.MAX_BATCH_TAGS :]
            room = v.MAX_BATCH_ENTITIES - len(p) - len(t)
            m, metrics = metrics[:room], metrics[room:]
            store.log_batch(run_id, m, p, t)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, ordered by step then timestamp."""
        return list(self._tracking_store.get_metric_history(run_id, key))

    def get_metric_history_columns(self, run_id: str, key: str) -> MetricColumns:
        """Every point of one metric as columns (labkeep only, not in mlflow).

        Returns ``MetricColumns(steps, timestamps, values)``, three equally long sequences ordered
        by step then timestamp. On the SQL store a long history reads several times faster this
        way than through ``get_metric_history``, which builds one ``Metric`` per point.
        """
        return self._tracking_store.get_metric_history_columns(run_id, key)

    def search_runs(
        self,
        experiment_ids: str | list[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs of the given experiments that match ``filter_string``, ordered by ``order_by``, one page at a time."""
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [str(experiment_ids)]
        return self._tracking_store.search_runs(
            [str(e) for e in experiment_ids],
            filter_string or "",
            ViewType.from_string(run_view_type),
            max_results,
            order_by,
            page_token,
        )

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record datasets (and logged models) as inputs of a run."""
        self._tracking_store.log_inputs(run_id, list(datasets or []), list(models or []))

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record logged models as outputs of a run."""
        self._tracking_store.log_outputs(run_id, list(models))

    # ------------------------------------------------------------ artifacts
    def _artifact_repo(self, run_id: str) -> Any:
        from labkeep.artifacts import get_artifact_repository

        uri = self._artifact_uris.get(run_id)
        if uri is None:
            uri = self._artifact_uris[run_id] = self.get_run(run_id).info.artifact_uri
        return get_artifact_repository(uri, self._tracking_uri)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Upload a local file (or a folder, under its own name) into the run's artifacts."""
        local_path = os.fspath(local_path)
        if not os.path.exists(local_path):
            raise InvalidParameterValue(f"Cannot log artifact: local path '{local_path}' does not exist.")
        repo = self._artifact_repo(run_id)
        if os.path.isdir(local_path):
            name = os.path.basename(os.path.normpath(local_path))
            repo.log_artifacts(local_path, posixpath.join(artifact_path, name) if artifact_path else name)
        else:
            repo.log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Upload the contents of a local folder into the run's artifacts."""
        local_dir = os.fspath(local_dir)
        if not os.path.isdir(local_dir):
            raise InvalidParameterValue(f"Cannot log artifacts: '{local_dir}' is not a directory.")
        self._artifact_repo(run_id).log_artifacts(local_dir, artifact_path)

    def _log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        self._artifact_repo(run_id).write_bytes(data, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` as a UTF-8 artifact file."""
        self._log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Write a dict as JSON or YAML (by the file's extension) artifact."""
        from labkeep.artifact_formats import dump_dict

        self._log_bytes(run_id, dump_dict(dictionary, artifact_file), artifact_file)

    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict | None = None
    ) -> None:
        """Save a matplotlib or plotly figure as an artifact."""
        from labkeep.artifact_formats import figure_bytes

        self._log_bytes(run_id, figure_bytes(figure, artifact_file, save_kwargs), artifact_file)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Save an image (numpy array or PIL image) as a PNG artifact; with ``key`` and ``step`` it joins an image series."""
        from labkeep.artifact_formats import image_png_bytes

        if artifact_file is None:
            if key is None:
                raise InvalidParameterValue("log_image needs artifact_file= or key= to name the image.")
            v.validate_key(key, "image key")
            step = step or 0
            artifact_file = f"images/{key.replace('/', '#')}/step_{step}_{now_ms() if timestamp is None else timestamp}.png"
        self._log_bytes(run_id, image_png_bytes(image, artifact_file), artifact_file)
        self._append_artifact_tag(run_id, "mlflow.loggedImages", artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Save a table (DataFrame or dict of columns) as a JSON artifact that the UI shows as a table."""
        from labkeep.artifact_formats import table_json_bytes

        if not artifact_file.endswith(".json"):
            raise InvalidParameterValue(
                f"log_table writes JSON: artifact_file must end with .json, got '{artifact_file}'."
            )
        self._log_bytes(run_id, table_json_bytes(data), artifact_file)
        self._append_artifact_tag(run_id, "mlflow.loggedArtifacts", artifact_file, {"type": "table"})

    def _append_artifact_tag(self, run_id: str, tag: str, path: str, extra: dict | None = None) -> None:
        current = self.get_run(run_id).data.tags.get(tag)
        entries = json.loads(current) if current else []
        entry = {"path": path, **(extra or {})}
        if entry not in entries:
            entries.append(entry)
            self.set_tag(run_id, tag, json.dumps(entries))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under ``path`` in the run's artifacts."""
        return self._artifact_repo(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Download an artifact file or folder of the run and return the local path."""
        return self._artifact_repo(run_id).download_artifacts(path, dst_path)

    # ------------------------------------------------------------ logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a logged model (MLflow 3) in an experiment, optionally tied to its source run."""
        return self._tracking_store.create_logged_model(
            str(experiment_id),
            name,
            source_run_id,
            [RunTag(k, str(val)) for k, val in (tags or {}).items()],
            [Param(k, _stringify(val)) for k, val in (params or {}).items()],
            model_type,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """The logged model with this id."""
        return self._tracking_store.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: str = LoggedModelStatus.READY) -> LoggedModel:
        """Mark a logged model ``READY`` (or ``FAILED``) once its files are uploaded."""
        return self._tracking_store.finalize_logged_model(model_id, status)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        """Set tags on a logged model."""
        self._tracking_store.set_logged_model_tags(model_id, [RunTag(k, str(val)) for k, val in tags.items()])

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model."""
        self._tracking_store.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        """Log parameters on a logged model."""
        self._tracking_store.log_logged_model_params(
            model_id, [Param(k, _stringify(val)) for k, val in params.items()]
        )

    def delete_logged_model(self, model_id: str) -> None:
        """Delete a logged model."""
        self._tracking_store.delete_logged_model(model_id)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict] | None = None,
        max_results: int | None = None,
        order_by: list[dict] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Logged models of the given experiments matching ``filter_string``."""
        return self._tracking_store.search_logged_models(
            [str(e) for e in experiment_ids], filter_string, datasets, max_results, order_by, page_token
        )

    def log_model_artifacts(self, model_id: str, local_dir: str) -> None:
        """Upload a local model folder into a logged model's artifact location."""
        from labkeep.artifacts import get_artifact_repository

        model = self.get_logged_model(model_id)
        get_artifact_repository(model.artifact_location, self._tracking_uri).log_artifacts(local_dir)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """The files under ``path`` in a logged model's artifacts."""
        from labkeep.artifacts import get_artifact_repository

        model = self.get_logged_model(model_id)
        return get_artifact_repository(model.artifact_location, self._tracking_uri).list_artifacts(path)

    def download_logged_model_artifacts(
        self, model_id: str, path: str = "", dst_path: str | None = None
    ) -> str:
        """Download a logged model's files (or one path of them) and return the local path."""
        from labkeep.artifacts import get_artifact_repository

        model = self.get_logged_model(model_id)
        repo = get_artifact_repository(model.artifact_location, self._tracking_uri)
        return repo.download_artifacts(path, dst_path or tempfile.mkdtemp(prefix="labkeep-model-"))


MlflowClient = Client


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _to_float(key: str, value: Any) -> float:
    if not v.is_number(value):
        raise InvalidParameterValue(
            f"Got invalid value {value!r} for metric '{key}'. Please specify value as a valid double"
            " (64-bit floating point); booleans and strings are not metric values."
        )
    return float(value)
