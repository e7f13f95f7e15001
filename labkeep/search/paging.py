"""Page tokens and ``max_results`` validation for the search APIs.

Tokens are base64 of JSON ``{"offset": n}``; search_logged_models tokens also echo the request
(experiment_ids, filter_string, order_by) and are only valid for the same request. Anything that
does not decode to such a token is rejected with ``InvalidParameterValue`` (HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from labkeep.exceptions import InvalidParameterValue

# api -> (default when absent, hard upper limit or None)
MAX_RESULTS: dict[str, tuple[int, int | None]] = {
    "runs": (1000, 50000),
    "experiments": (1000, 50000),
    "registered_models": (100, 1000),
    "model_versions": (200000, 200000),
    "logged_models": (50, None),
}


def validate_max_results(api: str, value: Any) -> int:
    """``max_results`` for ``api`` (one of ``MAX_RESULTS``): the default when None, else 1..limit."""
    if api not in MAX_RESULTS:
        raise ValueError(f"unknown search api {api!r}")
    default, limit = MAX_RESULTS[api]
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(
            f"Invalid value {value!r} for parameter 'max_results': expected an integer"
        )
    if value < 1:
        raise InvalidParameterValue(
            f"Invalid value {value} for parameter 'max_results' supplied. It must be a positive integer"
        )
    if limit is not None and value > limit:
        raise InvalidParameterValue(
            f"Invalid value {value} for parameter 'max_results' supplied. It must be at most {limit}"
        )
    return value


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode("utf-8")).decode("ascii")


def _decode(token: str) -> dict[str, Any]:
    try:
        raw = token.strip()
        raw += "=" * (-len(raw) % 4)
        # Accept both alphabets: tokens from the reference use the standard one.
        payload = json.loads(base64.b64decode(raw.replace("-", "+").replace("_", "/"), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError, AttributeError):
        raise InvalidParameterValue(f"Invalid page token {token!r}: it was not issued by this server")
    if not isinstance(payload, dict):
        raise InvalidParameterValue(f"Invalid page token {token!r}: it was not issued by this server")
    offset = payload.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidParameterValue(f"Invalid page token {token!r}: bad offset")
    return payload


def make_page_token(offset: int) -> str:
    """The token for the page starting at ``offset``."""
    return _encode({"offset": int(offset)})


def parse_page_token(token: str | None) -> int:
    """The offset a token stands for; 0 for no token."""
    if token is None or token == "":
        return 0
    if not isinstance(token, str):
        raise InvalidParameterValue(f"Invalid page token {token!r}: expected a string")
    return _decode(token)["offset"]


def next_page_token(offset: int, page_size: int, fetched: int) -> str | None:
    """Token for the next page, or None on the last one (``fetched`` rows of ``page_size + 1`` asked)."""
    return make_page_token(offset + page_size) if fetched > page_size else None


# ---------------------------------------------------------------- logged models
def _logged_models_request(
    experiment_ids: Iterable[Any] | None,
    filter_string: str | None,
    order_by: Iterable[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    from labkeep.search.parser import normalize_logged_model_order_by

    return {
        "experiment_ids": [str(e) for e in experiment_ids or ()],
        "filter_string": filter_string or None,
        "order_by": normalize_logged_model_order_by(order_by) or None,
    }


def make_logged_models_page_token(
    offset: int,
    experiment_ids: Iterable[Any] | None,
    filter_string: str | None,
    order_by: Iterable[Mapping[str, Any]] | None,
) -> str:
    """A search_logged_models token: the offset plus an echo of the request it belongs to."""
    return _encode({"offset": int(offset), **_logged_models_request(experiment_ids, filter_string, order_by)})


def parse_logged_models_page_token(
    token: str | None,
    experiment_ids: Iterable[Any] | None,
    filter_string: str | None,
    order_by: Iterable[Mapping[str, Any]] | None,
) -> int:
    """The offset of a search_logged_models token; 400 if it was issued for another request."""
    if token is None or token == "":
        return 0
    if not isinstance(token, str):
        raise InvalidParameterValue(f"Invalid page token {token!r}: expected a string")
    payload = _decode(token)
    expected = _logged_models_request(experiment_ids, filter_string, order_by)
    for field, value in expected.items():
        if payload.get(field) != value:
            raise InvalidParameterValue(
                f"Invalid page token: {field} differs from the request the token was issued for "
                f"(token: {payload.get(field)!r}, request: {value!r})"
            )
    return payload["offset"]
