"""Entities shaped like mlflow's, as small dataclasses with MLflow-JSON round-trips."""

from labkeep.entities.enums import (
    LifecycleStage,
    LoggedModelStatus,
    ModelVersionStatus,
    RunStatus,
    SourceType,
    ViewType,
)
from labkeep.entities.logged_model import LoggedModel
from labkeep.entities.paging import PagedList
from labkeep.entities.tracking import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelStatus",
    "Metric",
    "ModelVersionStatus",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "SourceType",
    "ViewType",
]
