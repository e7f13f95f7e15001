"""Errors raised while loading, validating or running a project."""

from __future__ import annotations

from labkeep.exceptions import InvalidParameterValue, LabkeepException


class ProjectError(LabkeepException):
    """A project cannot be loaded, validated, prepared or run; the message says what to fix."""

    error_code = "INVALID_PARAMETER_VALUE"


# mlflow's name for the same failure.
ExecutionException = ProjectError

__all__ = ["ExecutionException", "InvalidParameterValue", "ProjectError"]
