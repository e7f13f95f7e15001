"""The store contracts every backend implements (SQL, REST).

Methods and arguments follow MLflow's AbstractStore names so a Client, the REST server and the
contract test-suite can treat every backend alike. Errors are ``labkeep.exceptions`` subclasses
carrying MLflow error codes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkeep.entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    MetricColumns,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunTag,
    ViewType,
)

if TYPE_CHECKING:  # the tracing entities load only when traces are used
    from labkeep.genai.tracing.entities import Assessment, Trace, TraceInfo

# Defaults and limits from the compatibility spec (limits-and-defaults.md, search-grammar.md).
SEARCH_RUNS_DEFAULT_MAX_RESULTS = 1000
SEARCH_RUNS_MAX_RESULTS = 50000
SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS = 1000
SEARCH_EXPERIMENTS_MAX_RESULTS = 50000
SEARCH_LOGGED_MODELS_DEFAULT_MAX_RESULTS = 100
METRIC_HISTORY_PAGE = 25000
SEARCH_TRACES_DEFAULT_MAX_RESULTS = 100


class TrackingStore(ABC):
    """Experiments, runs, metrics, params, tags, inputs/outputs and logged models."""

    # ---- experiments
    @abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] | None = None
    ) -> str: ...

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None: ...

    @abstractmethod
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]: ...

    @abstractmethod
    def delete_experiment(self, experiment_id: str) -> None: ...

    @abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    @abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abstractmethod
    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None: ...

    @abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # ---- runs
    @abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run: ...

    @abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abstractmethod
    def update_run_info(
        self, run_id: str, run_status: str | None, end_time: int | None, run_name: str | None
    ) -> RunInfo: ...

    @abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abstractmethod
    def log_metric(self, run_id: str, metric: Metric) -> None: ...

    @abstractmethod
    def log_param(self, run_id: str, param: Param) -> None: ...

    @abstractmethod
    def set_tag(self, run_id: str, tag: RunTag) -> None: ...

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None: ...

    @abstractmethod
    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]: ...

    def get_metric_history_columns(self, run_id: str, metric_key: str) -> MetricColumns:
        """Every point of one metric as step, timestamp and value columns, ordered by step then
        timestamp. Stores that can read columns without building ``Metric`` objects override it."""
        points = self.get_metric_history(run_id, metric_key)
        return MetricColumns([m.step for m in points], [m.timestamp for m in points], [m.value for m in points])

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_RUNS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]: ...

    @abstractmethod
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None: ...

    @abstractmethod
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None: ...

    # ---- logged models (MLflow 3)
    @abstractmethod
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[RunTag] | None = None,
        params: Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel: ...

    @abstractmethod
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel: ...

    @abstractmethod
    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel: ...

    @abstractmethod
    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None: ...

    @abstractmethod
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...

    @abstractmethod
    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None: ...

    @abstractmethod
    def delete_logged_model(self, model_id: str) -> None: ...

    @abstractmethod
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]: ...

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""


class TraceStore(ABC):
    """Traces (info, spans, tags) and their assessments, as every trace backend stores them.

    Spans are OpenTelemetry-style JSON dicts; ``search_traces`` pages with an opaque token.
    """

    # ---- writes
    @abstractmethod
    def start_trace(self, info: TraceInfo) -> TraceInfo:
        """Store a trace's info (``POST /api/3.0/mlflow/traces``) and return it as stored."""

    @abstractmethod
    def log_trace(self, info: TraceInfo, spans: Sequence[dict[str, Any]] | None = None) -> TraceInfo:
        """Store a finished trace: its info and its spans."""

    @abstractmethod
    def log_traces(self, items: Sequence[tuple[TraceInfo, Sequence[dict[str, Any]]]]) -> None:
        """Store many finished traces (with the assessments on their infos)."""

    @abstractmethod
    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None: ...

    @abstractmethod
    def delete_trace_tag(self, trace_id: str, key: str) -> None: ...

    @abstractmethod
    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete the given traces, or the experiment's traces up to a time; returns how many went."""

    # ---- assessments
    @abstractmethod
    def create_assessment(self, assessment: Assessment) -> Assessment: ...

    @abstractmethod
    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment: ...

    @abstractmethod
    def delete_assessment(self, trace_id: str, assessment_id: str) -> None: ...

    # ---- reads
    @abstractmethod
    def get_trace_info(self, trace_id: str) -> TraceInfo: ...

    @abstractmethod
    def get_trace(self, trace_id: str) -> Trace: ...

    @abstractmethod
    def get_spans(self, trace_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def batch_get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        """The traces with these ids that exist, with their spans, in the order asked."""

    @abstractmethod
    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = SEARCH_TRACES_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[TraceInfo], str | None]:
        """One page of trace infos matching the filter, and the token of the next page (or None)."""

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
