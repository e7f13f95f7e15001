"""Enumerations shared by the tracking and registry entities, with MLflow's names and numbers."""

from __future__ import annotations

from labkeep.exceptions import InvalidParameterValue


class RunStatus:
    """Run states as MLflow names them; ``to_int``/``from_int`` give the protobuf numbers."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    _NUMBERS = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
    _NAMES = {v: k for k, v in _NUMBERS.items()}

    @classmethod
    def all(cls) -> list[str]:
        return list(cls._NUMBERS)

    @classmethod
    def is_terminated(cls, status: str) -> bool:
        return status in (cls.FINISHED, cls.FAILED, cls.KILLED)

    @classmethod
    def from_string(cls, status: str | int) -> int:
        return cls.to_int(status)

    @classmethod
    def to_int(cls, status: str | int) -> int:
        if isinstance(status, int):
            return status
        try:
            return cls._NUMBERS[status]
        except KeyError:
            raise InvalidParameterValue(
                f"Invalid run status {status!r}; expected one of {', '.join(cls._NUMBERS)}."
            ) from None

    @classmethod
    def to_string(cls, status: int | str) -> str:
        return cls.validate(status)

    @classmethod
    def validate(cls, status: int | str) -> str:
        """Return the canonical name of ``status`` (name or number), or raise."""
        if isinstance(status, int) and status in cls._NAMES:
            return cls._NAMES[status]
        if isinstance(status, str) and status.upper() in cls._NUMBERS:
            return status.upper()
        raise InvalidParameterValue(
            f"Invalid run status {status!r}; expected one of {', '.join(cls._NUMBERS)}."
        )


class ViewType:
    """Which lifecycle stages a search covers."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    _NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}

    @classmethod
    def from_string(cls, view: str | int | None) -> int:
        if view is None:
            return cls.ACTIVE_ONLY
        if isinstance(view, int) and view in (1, 2, 3):
            return view
        if isinstance(view, str) and view.upper() in cls._NAMES:
            return cls._NAMES[view.upper()]
        raise InvalidParameterValue(f"Invalid view type {view!r}; expected ACTIVE_ONLY, DELETED_ONLY or ALL.")

    @classmethod
    def to_string(cls, view: int) -> str:
        return {v: k for k, v in cls._NAMES.items()}[view]


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"

    @classmethod
    def for_view(cls, view_type: int) -> tuple[str, ...]:
        if view_type == ViewType.ACTIVE_ONLY:
            return (cls.ACTIVE,)
        if view_type == ViewType.DELETED_ONLY:
            return (cls.DELETED,)
        return (cls.ACTIVE, cls.DELETED)


class SourceType:
    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    UNKNOWN = "UNKNOWN"


class LoggedModelStatus:
    UNSPECIFIED = "LOGGED_MODEL_STATUS_UNSPECIFIED"
    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"

    _NUMBERS = {UNSPECIFIED: 0, PENDING: 1, READY: 2, UPLOAD_FAILED: 3}
    _NAMES = {v: k for k, v in _NUMBERS.items()}

    @classmethod
    def to_int(cls, status: str | int) -> int:
        if isinstance(status, int) and status in cls._NAMES:
            return status
        if isinstance(status, str):
            key = status.upper()
            if key in cls._NUMBERS:
                return cls._NUMBERS[key]
            if "LOGGED_MODEL_" + key in cls._NUMBERS:
                return cls._NUMBERS["LOGGED_MODEL_" + key]
        raise InvalidParameterValue(
            f"Invalid logged model status {status!r}; expected one of {', '.join(cls._NUMBERS)}."
        )

    @classmethod
    def to_string(cls, status: int | str) -> str:
        return cls._NAMES[cls.to_int(status)]


class ModelVersionStatus:
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"
