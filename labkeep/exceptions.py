"""labkeep's error hierarchy.

Every error carries an MLflow ``error_code`` and the HTTP status the server answers with, so the
same exception travels from a store, over REST, and back into a client unchanged.
"""

from __future__ import annotations

from typing import Any

# error_code -> HTTP status, as the MLflow REST protocol defines them.
HTTP_STATUS_BY_CODE: dict[str, int] = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "MALFORMED_REQUEST": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "RESOURCE_CONFLICT": 409,
    "ABORTED": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "CUSTOMER_UNAUTHORIZED": 401,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL_ERROR": 500,
    "INVALID_STATE": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

# HTTP status -> error_code, for answers without a JSON body.
CODE_BY_HTTP_STATUS: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    499: "CANCELLED",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class LabkeepException(Exception):
    """Base error: a message for people plus an MLflow ``error_code`` for programs."""

    error_code: str = "INTERNAL_ERROR"

    def __init__(self, message: str, error_code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message)
        self.message = str(message)
        if error_code is not None:
            self.error_code = error_code
        self.json_kwargs = kwargs

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE.get(self.error_code, 500)

    def to_dict(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message, **self.json_kwargs}

    def get_http_status_code(self) -> int:  # mlflow's spelling
        return self.http_status

    @classmethod
    def invalid_parameter_value(cls, message: str) -> LabkeepException:
        return InvalidParameterValue(message)


# MLflow users catch ``MlflowException``; it is the same class here.
MlflowException = LabkeepException


class InvalidParameterValue(LabkeepException):
    error_code = "INVALID_PARAMETER_VALUE"


class ResourceDoesNotExist(LabkeepException):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExists(LabkeepException):
    error_code = "RESOURCE_ALREADY_EXISTS"


class BadRequest(LabkeepException):
    error_code = "BAD_REQUEST"


class PermissionDenied(LabkeepException):
    error_code = "PERMISSION_DENIED"


class TemporarilyUnavailable(LabkeepException):
    error_code = "TEMPORARILY_UNAVAILABLE"


_CLASS_BY_CODE: dict[str, type[LabkeepException]] = {
    "INVALID_PARAMETER_VALUE": InvalidParameterValue,
    "RESOURCE_DOES_NOT_EXIST": ResourceDoesNotExist,
    "RESOURCE_ALREADY_EXISTS": ResourceAlreadyExists,
    "BAD_REQUEST": BadRequest,
    "PERMISSION_DENIED": PermissionDenied,
    "TEMPORARILY_UNAVAILABLE": TemporarilyUnavailable,
}


def exception_from_error(error_code: str, message: str) -> LabkeepException:
    """Build the labkeep exception a store would have raised for ``error_code``."""
    cls = _CLASS_BY_CODE.get(error_code, LabkeepException)
    return cls(message, error_code=error_code)
