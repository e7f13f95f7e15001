"""The fluent API: an active-run stack per thread and module-level logging functions (mlflow's names).

Everything delegates to a ``Client`` for the tracking URI in force.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, Literal

from labkeep import config
from labkeep.client import Client
from labkeep.entities import (
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.utils.clock import now_ms

SEARCH_PAGE_SIZE = 10000
PARENT_RUN_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"

_local = threading.local()
_active_experiment_id: str | None = None
_client_cache: dict[tuple[str | int | None, ...], Client] = {}
_exit_hooks_installed = False
_crashed = False


def _stack() -> list[ActiveRun]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _client() -> Client:
    # Keyed by what the URIs are computed from, not by the normalized URIs (see store_cache_key).
    key = (*config.store_cache_key(), os.getcwd(), os.getpid())
    client = _client_cache.get(key)
    if client is None:
        client = _client_cache[key] = Client(config.get_tracking_uri(), config.get_registry_uri())
    return client


class ActiveRun(Run):
    """The run returned by ``start_run``; a context manager that ends it (FAILED on an exception)."""

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        _end_run_by_id(self.info.run_id, status)
        return False


# ------------------------------------------------------------------ tracking URI
def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Track to ``uri`` from now on: a database URI, a folder, or a labkeep/MLflow server URL."""
    config.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    """The tracking URI in force: ``set_tracking_uri`` > ``LABKEEP_TRACKING_URI`` > ``MLFLOW_TRACKING_URI`` > the embedded store."""
    return config.get_tracking_uri()


def set_registry_uri(uri: str | None) -> None:
    """Use this URI for the model registry (defaults to the tracking URI)."""
    config.set_registry_uri(uri)


def get_registry_uri() -> str:
    """The model registry URI in force."""
    return config.get_registry_uri()


# ------------------------------------------------------------------ experiments
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active (by name, created when missing, or by id) and return it."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameterValue("set_experiment needs exactly one of experiment_name or experiment_id.")
    client = _client()
    if experiment_name is None:  # then experiment_id is set
        experiment = client.get_experiment(str(experiment_id))
    else:
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            try:
                client.create_experiment(experiment_name)
            except LabkeepException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":  # another process created it first
                    raise
            found = client.get_experiment_by_name(experiment_name)
            assert found is not None
        experiment = found
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise InvalidParameterValue(
            f"Cannot set a deleted experiment '{experiment.name}' as the active experiment;"
            " restore it (labkeep experiments restore) or choose another name."
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def _get_experiment_id() -> str:
    if _active_experiment_id is not None:
        return _active_experiment_id
    name = config.EXPERIMENT_NAME.get()
    env_id = config.EXPERIMENT_ID.get()
    if name:
        experiment = _client().get_experiment_by_name(name)
        if experiment is None:
            experiment_id = _client().create_experiment(name)
        else:
            experiment_id = experiment.experiment_id
        if env_id and env_id != experiment_id:
            raise InvalidParameterValue(
                f"MLFLOW_EXPERIMENT_NAME ('{name}', id {experiment_id}) and MLFLOW_EXPERIMENT_ID ({env_id}) disagree;"
                " set only one of them."
            )
        return experiment_id
    if env_id:
        _client().get_experiment(env_id)  # must exist
        return env_id
    return "0"


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    """Create an experiment and return its id."""
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id."""
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment with this name, or ``None``."""
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """All matching experiments (every page), or at most ``max_results``."""
    out: list[Experiment] = []
    token = None
    while True:
        page_size = 1000 if max_results is None else min(1000, max_results - len(out))
        page = _client().search_experiments(view_type, page_size, filter_string, order_by, token)
        out += page
        token = page.token
        if not token or (max_results is not None and len(out) >= max_results):
            return out


def delete_experiment(experiment_id: str) -> None:
    """Mark an experiment and its runs deleted."""
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Bring a deleted experiment back."""
    _client().restore_experiment(experiment_id)


def rename_experiment(experiment_id: str, new_name: str) -> None:
    """Give an experiment a new name."""
    _client().rename_experiment(experiment_id, new_name)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment."""
    _client().set_experiment_tag(_get_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active experiment."""
    for key, value in tags.items():
        set_experiment_tag(key, value)


# ------------------------------------------------------------------ runs
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it the active run of this thread."""
    stack = _stack()
    if stack and not nested:
        raise LabkeepException(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first end the"
            " current run with end_run(). To start a nested run, call start_run with nested=True",
            "INVALID_PARAMETER_VALUE",
        )
    client = _client()
    env_run_id = config.RUN_ID.get()
    resume_id = run_id or (env_run_id if not stack else None)
    if resume_id:
        run = _resume(client, resume_id, experiment_id, tags, description, run_name)
    else:
        run = _create(client, experiment_id, run_name, nested, parent_run_id, tags, description)
    active = ActiveRun(info=run.info, data=run.data, inputs=run.inputs, outputs=run.outputs)
    stack.append(active)
    _local.last_run_id = active.info.run_id
    _install_exit_hooks()
    return active


def _resume(
    client: Client,
    run_id: str,
    experiment_id: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
    run_name: str | None,
) -> Run:
    existing = client.get_run(run_id)
    if experiment_id is not None and str(experiment_id) != existing.info.experiment_id:
        raise InvalidParameterValue(
            f"Run {run_id} belongs to experiment {existing.info.experiment_id}, not {experiment_id}."
        )
    if existing.info.lifecycle_stage != LifecycleStage.ACTIVE:
        raise InvalidParameterValue(f"Cannot start run {run_id}: it is deleted. Restore it first.")
    client.update_run(run_id, RunStatus.RUNNING, run_name)
    extra = {k: str(val) for k, val in (tags or {}).items()}
    if description:
        extra[NOTE_TAG] = description
    if extra:
        client.log_batch(run_id, tags=[RunTag(k, val) for k, val in extra.items()])
    return client.get_run(run_id)


def _create(
    client: Client,
    experiment_id: str | None,
    run_name: str | None,
    nested: bool,
    parent_run_id: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
) -> Run:
    from labkeep.context import run_context_tags

    stack = _stack()
    if parent_run_id is None and nested and stack:
        parent_run_id = stack[-1].info.run_id
    if parent_run_id is not None:
        parent = client.get_run(parent_run_id)
        if parent.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(f"Parent run {parent_run_id} is deleted.")
        if stack and stack[-1].info.run_id != parent_run_id:
            raise InvalidParameterValue(
                f"parent_run_id {parent_run_id} is not the active run {stack[-1].info.run_id}."
            )
    exp_id = (
        str(experiment_id)
        if experiment_id is not None
        else (client.get_run(parent_run_id).info.experiment_id if parent_run_id else _get_experiment_id())
    )
    all_tags, diff = run_context_tags()
    all_tags.update({k: str(val) for k, val in (tags or {}).items()})
    if parent_run_id:
        all_tags[PARENT_RUN_TAG] = parent_run_id
    if description:
        all_tags[NOTE_TAG] = description
    if run_name:
        all_tags["mlflow.runName"] = run_name
    run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
    if diff:
        try:
            client.log_text(run.info.run_id, diff, "git-diff.patch")
        except LabkeepException:
            pass  # the diff is a convenience; the run itself is recorded
    return run


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run of this thread (FINISHED unless ``status`` says otherwise)."""
    stack = _stack()
    if stack:
        _end_run_by_id(stack[-1].info.run_id, status)


def _end_run_by_id(run_id: str, status: str) -> None:
    stack = _stack()
    status = RunStatus.validate(status)
    _local.last_run_id = run_id
    try:
        _client().set_terminated(run_id, status, now_ms())
    finally:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].info.run_id == run_id:
                del stack[i]
                break


def active_run() -> ActiveRun | None:
    """The active run of this thread, or ``None``."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The run that was active most recently (even if it has ended), or ``None``."""
    stack = _stack()
    if stack:
        return _client().get_run(stack[-1].info.run_id)
    run_id = getattr(_local, "last_run_id", None)
    return _client().get_run(run_id) if run_id else None


def _run_id(run_id: str | None = None) -> str:
    if run_id:
        return run_id
    stack = _stack()
    if stack:
        return stack[-1].info.run_id
    return start_run().info.run_id


def get_run(run_id: str) -> Run:
    """The run with this id."""
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark a run deleted."""
    _client().delete_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or ``None``."""
    return _client().get_parent_run(run_id)


# ------------------------------------------------------------------ logging
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a parameter on the active run (a run is started when none is active). Returns ``value``."""
    return _client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    """Log several parameters on the active run (or ``run_id``)."""
    _client().log_batch(_run_id(run_id), params=[Param(k, str(val)) for k, val in params.items()])


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log one metric point on the active run; ``step`` defaults to 0, ``timestamp`` to now."""
    name, digest = (
        (getattr(dataset, "name", None), getattr(dataset, "digest", None)) if dataset else (None, None)
    )
    _client().log_metric(_run_id(run_id), key, value, timestamp, step, None, name, digest, model_id)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metrics at one step on the active run (or ``run_id``)."""
    from labkeep.client import _to_float

    ts = now_ms() if timestamp is None else timestamp
    name, digest = (
        (getattr(dataset, "name", None), getattr(dataset, "digest", None)) if dataset else (None, None)
    )
    batch = [
        Metric(k, _to_float(k, val), ts, step or 0, model_id, name, digest) for k, val in metrics.items()
    ]
    _client().log_batch(_run_id(run_id), metrics=batch)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set a tag on the active run."""
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags on the active run."""
    _client().log_batch(_run_id(), tags=[RunTag(k, str(val)) for k, val in tags.items()])


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """Upload a local file or folder into the active run's artifacts."""
    _client().log_artifact(_run_id(run_id), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """Upload the contents of a local folder into the active run's artifacts."""
    _client().log_artifacts(_run_id(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``text`` as an artifact file of the active run."""
    _client().log_text(_run_id(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write a dict as a JSON or YAML artifact of the active run."""
    _client().log_dict(_run_id(run_id), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
    """Save a matplotlib or plotly figure as an artifact of the active run."""
    _client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Save an image as a PNG artifact of the active run (with ``key``/``step``: an image series)."""
    _client().log_image(_run_id(), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a table as a JSON artifact of the active run."""
    _client().log_table(_run_id(run_id), data, artifact_file)


def log_input(
    dataset: Any, context: str | None = None, tags: dict[str, str] | None = None, model: Any = None
) -> None:
    """Record a dataset used by the active run (name, digest, source, schema, profile)."""
    from labkeep.entities import Dataset, LoggedModelInput

    entity = dataset._to_mlflow_entity() if hasattr(dataset, "_to_mlflow_entity") else dataset
    if not isinstance(entity, Dataset):
        entity = Dataset(
            name=entity.name,
            digest=entity.digest,
            source_type=getattr(entity, "source_type", "code"),
            source=str(getattr(entity, "source", "")),
            schema=getattr(entity, "schema", None),
            profile=getattr(entity, "profile", None),
        )
    input_tags = [InputTag(k, str(val)) for k, val in (tags or {}).items()]
    if context:
        input_tags.append(InputTag("mlflow.data.context", context))
    models = [LoggedModelInput(model.model_id)] if model is not None else None
    _client().log_inputs(_run_id(), [DatasetInput(entity, input_tags)], models)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifact root (or of ``artifact_path`` under it)."""
    from labkeep.artifacts.paths import safe_relative_path

    run = active_run() or _client().get_run(_run_id())
    root = _client().get_run(run.info.run_id).info.artifact_uri
    if not artifact_path:
        return root
    return f"{root.rstrip('/')}/{safe_relative_path(artifact_path)}"


# ------------------------------------------------------------------ search
def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Runs matching ``filter_string`` as a pandas DataFrame (default) or a list of Run objects."""
    if output_format not in ("pandas", "list"):
        raise InvalidParameterValue(f"Unsupported output_format {output_format!r}; use 'pandas' or 'list'.")
    client = _client()
    if experiment_names:
        ids = []
        for name in experiment_names:
            exp = client.get_experiment_by_name(name)
            if exp is not None:
                ids.append(exp.experiment_id)
        experiment_ids = list(experiment_ids or []) + ids
    elif not experiment_ids:
        if search_all_experiments:
            experiment_ids = [e.experiment_id for e in search_experiments(ViewType.ALL)]
        else:
            experiment_ids = [_get_experiment_id()]
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    runs: list[Run] = []
    token = None
    while len(runs) < max_results:
        page = client.search_runs(
            list(experiment_ids),
            filter_string,
            run_view_type,
            min(SEARCH_PAGE_SIZE, max_results - len(runs)),
            order_by,
            token,
        )
        runs += page
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    from labkeep.dataframes import runs_to_dataframe

    return runs_to_dataframe(runs)


# ------------------------------------------------------------------ exit handling
def _install_exit_hooks() -> None:
    global _exit_hooks_installed
    if _exit_hooks_installed:
        return
    _exit_hooks_installed = True
    previous = sys.excepthook

    def hook(exc_type: Any, exc: Any, tb: Any) -> None:
        global _crashed
        _crashed = True
        previous(exc_type, exc, tb)

    sys.excepthook = hook
    atexit.register(_end_all_runs_at_exit)


def _end_all_runs_at_exit() -> None:
    status = RunStatus.FAILED if _crashed else RunStatus.FINISHED
    stack = _stack()
    while stack:
        try:
            _end_run_by_id(stack[-1].info.run_id, status)
        except (LabkeepException, OSError):  # the store went away: still clear the stack
            stack.pop()


def _reset_for_tests() -> None:
    """Forget the active experiment, runs and cached clients (test isolation)."""
    global _active_experiment_id
    _active_experiment_id = None
    _local.__dict__.clear()
    _client_cache.clear()
