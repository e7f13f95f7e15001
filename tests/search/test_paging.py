"""Page tokens and max_results limits (docs/reference/search.md)."""

from __future__ import annotations

import base64
import json

import pytest

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import (
    make_logged_models_page_token,
    make_page_token,
    next_page_token,
    parse_logged_models_page_token,
    parse_page_token,
    validate_max_results,
)


def test_token_is_base64_json_offset_and_round_trips():
    token = make_page_token(1000)
    assert json.loads(base64.urlsafe_b64decode(token)) == {"offset": 1000}
    assert parse_page_token(token) == 1000
    assert parse_page_token(None) == 0
    assert parse_page_token("") == 0


def test_token_in_standard_base64_is_accepted():
    token = base64.b64encode(json.dumps({"offset": 7}).encode()).decode()
    assert parse_page_token(token) == 7


@pytest.mark.parametrize(
    "garbage",
    [
        "not a token",
        "%%%",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b'{"offset": -1}').decode(),
        base64.b64encode(b'{"offset": "3"}').decode(),
        base64.b64encode(b'{"offset": true}').decode(),
        base64.b64encode(b'{"other": 1}').decode(),
        base64.b64encode(b"\xff\xfe").decode(),
        12,
    ],
)
def test_garbage_tokens_are_400(garbage):
    with pytest.raises(InvalidParameterValue) as info:
        parse_page_token(garbage)
    assert info.value.http_status == 400


def test_next_page_token_only_when_more_rows():
    assert next_page_token(0, 10, 11) == make_page_token(10)
    assert next_page_token(20, 10, 10) is None
    assert next_page_token(20, 10, 3) is None


@pytest.mark.parametrize(
    "api, default, limit",
    [
        ("runs", 1000, 50000),
        ("experiments", 1000, 50000),
        ("registered_models", 100, 1000),
        ("model_versions", 200000, 200000),
    ],
)
def test_max_results_limits(api, default, limit):
    assert validate_max_results(api, None) == default
    assert validate_max_results(api, 1) == 1
    assert validate_max_results(api, limit) == limit
    assert validate_max_results(api, str(limit)) == limit
    for bad in (limit + 1, 0, -5, "ten", 1.5, True, [3]):
        with pytest.raises(InvalidParameterValue) as info:
            validate_max_results(api, bad)
        assert info.value.http_status == 400


def test_max_results_logged_models_has_no_upper_limit():
    assert validate_max_results("logged_models", None) == 50
    assert validate_max_results("logged_models", 10**6) == 10**6
    with pytest.raises(InvalidParameterValue):
        validate_max_results("logged_models", 0)


def test_max_results_message_names_the_limit():
    with pytest.raises(InvalidParameterValue, match="at most 50000"):
        validate_max_results("runs", 50001)


ORDER = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "d"}]


def test_logged_models_token_echoes_request():
    token = make_logged_models_page_token(50, ["1", "2"], "name = 'x'", ORDER)
    payload = json.loads(base64.urlsafe_b64decode(token))
    assert payload["offset"] == 50
    assert payload["experiment_ids"] == ["1", "2"]
    assert payload["filter_string"] == "name = 'x'"
    assert parse_logged_models_page_token(token, ["1", "2"], "name = 'x'", ORDER) == 50
    # an equivalent spelling of the same order_by is the same request
    same = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "d", "dataset_digest": None}]
    assert parse_logged_models_page_token(token, ["1", "2"], "name = 'x'", same) == 50
    assert parse_logged_models_page_token(None, ["9"], None, None) == 0


@pytest.mark.parametrize(
    "exps, filter_string, order_by",
    [
        (["1"], "name = 'x'", ORDER),
        (["1", "2"], "name = 'y'", ORDER),
        (["1", "2"], None, ORDER),
        (["1", "2"], "name = 'x'", None),
        (["1", "2"], "name = 'x'", [{"field_name": "metrics.acc"}]),
    ],
)
def test_logged_models_token_for_another_request_is_400(exps, filter_string, order_by):
    token = make_logged_models_page_token(50, ["1", "2"], "name = 'x'", ORDER)
    with pytest.raises(InvalidParameterValue, match="differs"):
        parse_logged_models_page_token(token, exps, filter_string, order_by)


def test_logged_models_garbage_token():
    with pytest.raises(InvalidParameterValue):
        parse_logged_models_page_token("garbage!", ["1"], None, None)
