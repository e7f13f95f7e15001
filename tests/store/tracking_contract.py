"""The tracking store contract: behaviour every TrackingStore backend must show.

Import these tests into a module that defines a ``tracking_store`` fixture.
"""

from __future__ import annotations

import math
import time

import pytest

from labkeep.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LifecycleStage,
    LoggedModelOutput,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from labkeep.exceptions import LabkeepException


def now() -> int:
    return int(time.time() * 1000)


def _code(exc_info) -> str:
    return exc_info.value.error_code


def new_run(store, exp_id="0", name=None, tags=()):
    return store.create_run(exp_id, "tester", now(), list(tags), name)


# ---------------------------------------------------------------- experiments
def test_default_experiment_exists(tracking_store):
    exp = tracking_store.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == LifecycleStage.ACTIVE
    assert tracking_store.get_experiment_by_name("Default").experiment_id == "0"


def test_create_get_experiment_with_tags(tracking_store):
    exp_id = tracking_store.create_experiment("exp-a", None, [RunTag("team", "ml")])
    exp = tracking_store.get_experiment(exp_id)
    assert exp.name == "exp-a"
    assert exp.tags == {"team": "ml"}
    assert exp.artifact_location.endswith(f"/{exp_id}")
    assert exp.creation_time and exp.last_update_time
    assert tracking_store.get_experiment_by_name("missing") is None


def test_experiment_ids_increase(tracking_store):
    ids = [int(tracking_store.create_experiment(f"e{i}")) for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3 and ids[0] >= 1


@pytest.mark.parametrize("bad", ["", "   ", "x" * 501, None, 5])
def test_invalid_experiment_names(tracking_store, bad):
    with pytest.raises(LabkeepException) as e:
        tracking_store.create_experiment(bad)
    assert _code(e) == "INVALID_PARAMETER_VALUE"


def test_duplicate_experiment_name_even_when_deleted(tracking_store):
    exp_id = tracking_store.create_experiment("dup")
    with pytest.raises(LabkeepException) as e:
        tracking_store.create_experiment("dup")
    assert _code(e) == "RESOURCE_ALREADY_EXISTS"
    tracking_store.delete_experiment(exp_id)
    with pytest.raises(LabkeepException) as e:
        tracking_store.create_experiment("dup")
    assert _code(e) == "RESOURCE_ALREADY_EXISTS"


def test_unknown_and_malformed_experiment_ids(tracking_store):
    with pytest.raises(LabkeepException) as e:
        tracking_store.get_experiment("424242")
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabkeepException) as e:
        tracking_store.get_experiment("abc")
    assert _code(e) == "INVALID_PARAMETER_VALUE"


def test_delete_restore_rename_experiment(tracking_store):
    exp_id = tracking_store.create_experiment("to-delete")
    run = new_run(tracking_store, exp_id)
    tracking_store.delete_experiment(exp_id)
    assert tracking_store.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert tracking_store.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(LabkeepException) as e:
        new_run(tracking_store, exp_id)
    assert _code(e) == "INVALID_PARAMETER_VALUE"
    tracking_store.restore_experiment(exp_id)
    assert tracking_store.get_run(run.info.run_id).info.lifecycle_stage == "active"
    tracking_store.rename_experiment(exp_id, "renamed")
    assert tracking_store.get_experiment(exp_id).name == "renamed"
    tracking_store.create_experiment("taken")
    with pytest.raises(LabkeepException) as e:
        tracking_store.rename_experiment(exp_id, "taken")
    assert _code(e) == "RESOURCE_ALREADY_EXISTS"
    assert tracking_store.get_experiment(exp_id).name == "renamed"


def test_experiment_tags_set_delete(tracking_store):
    exp_id = tracking_store.create_experiment("tagged")
    tracking_store.set_experiment_tag(exp_id, RunTag("a", "1"))
    tracking_store.set_experiment_tag(exp_id, RunTag("a", "2"))
    assert tracking_store.get_experiment(exp_id).tags == {"a": "2"}
    tracking_store.delete_experiment_tag(exp_id, "a")
    assert tracking_store.get_experiment(exp_id).tags == {}
    with pytest.raises(LabkeepException) as e:
        tracking_store.delete_experiment_tag(exp_id, "a")
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_filter_order_paging(tracking_store):
    for name in ["alpha", "beta", "gamma", "Alphabet"]:
        tracking_store.create_experiment(name)
    names = [e.name for e in tracking_store.search_experiments(filter_string="name LIKE 'alpha%'")]
    assert names == ["alpha"]
    names = {e.name for e in tracking_store.search_experiments(filter_string="name ILIKE 'alpha%'")}
    assert names == {"alpha", "Alphabet"}
    ordered = [e.name for e in tracking_store.search_experiments(order_by=["name ASC"])]
    assert ordered == sorted(ordered)
    page1 = tracking_store.search_experiments(max_results=2, order_by=["name ASC"])
    assert len(page1) == 2 and page1.token
    page2 = tracking_store.search_experiments(max_results=2, order_by=["name ASC"], page_token=page1.token)
    page3 = tracking_store.search_experiments(max_results=2, order_by=["name ASC"], page_token=page2.token)
    assert [e.name for e in page1 + page2 + page3] == ordered
    assert page3.token is None
    with pytest.raises(LabkeepException) as e:
        tracking_store.search_experiments(filter_string="name = 'a' OR name = 'b'")
    assert _code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabkeepException):
        tracking_store.search_experiments(page_token="garbage!!")


def test_search_experiments_view_type(tracking_store):
    exp_id = tracking_store.create_experiment("gone")
    tracking_store.delete_experiment(exp_id)
    active = {e.name for e in tracking_store.search_experiments(ViewType.ACTIVE_ONLY)}
    deleted = {e.name for e in tracking_store.search_experiments(ViewType.DELETED_ONLY)}
    every = {e.name for e in tracking_store.search_experiments(ViewType.ALL)}
    assert "gone" not in active and deleted == {"gone"} and every == active | deleted


# ---------------------------------------------------------------- runs
def test_create_and_get_run(tracking_store):
    run = new_run(tracking_store, name="first", tags=[RunTag("k", "v")])
    got = tracking_store.get_run(run.info.run_id)
    assert got.info.run_name == "first"
    assert got.info.status == RunStatus.RUNNING
    assert got.info.end_time is None
    assert got.info.user_id == "tester"
    assert got.data.tags["mlflow.runName"] == "first"
    assert got.data.tags["k"] == "v"
    assert got.info.artifact_uri.endswith(f"/{run.info.run_id}/artifacts")
    assert len(run.info.run_id) == 32


def test_generated_run_name_and_mismatch(tracking_store):
    run = new_run(tracking_store)
    parts = run.info.run_name.split("-")
    assert len(parts) == 3 and parts[2].isdigit()
    with pytest.raises(LabkeepException) as e:
        new_run(tracking_store, name="a", tags=[RunTag("mlflow.runName", "b")])
    assert _code(e) == "INVALID_PARAMETER_VALUE"


def test_unknown_run(tracking_store):
    with pytest.raises(LabkeepException) as e:
        tracking_store.get_run("0" * 32)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabkeepException) as e:
        tracking_store.log_param("f" * 32, Param("a", "1"))
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabkeepException) as e:
        tracking_store.create_run("987654", "u", now(), [], None)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_update_run_info(tracking_store):
    run = new_run(tracking_store)
    end = now() + 5
    info = tracking_store.update_run_info(run.info.run_id, RunStatus.FINISHED, end, "renamed")
    assert info.status == "FINISHED" and info.end_time == end and info.run_name == "renamed"
    got = tracking_store.get_run(run.info.run_id)
    assert got.data.tags["mlflow.runName"] == "renamed"
    with pytest.raises(LabkeepException):
        tracking_store.update_run_info(run.info.run_id, "NOT_A_STATUS", None, None)


def test_params_immutable_and_idempotent(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    tracking_store.log_param(run_id, Param("alpha", "0.5"))
    tracking_store.log_param(run_id, Param("alpha", "0.5"))
    with pytest.raises(LabkeepException) as e:
        tracking_store.log_param(run_id, Param("alpha", "0.7"))
    assert _code(e) == "INVALID_PARAMETER_VALUE"
    assert tracking_store.get_run(run_id).data.params == {"alpha": "0.5"}


@pytest.mark.parametrize("key", ["bad*key", "../x", "/abs", "a//b", "", "x" * 251, "a/../b"])
def test_invalid_keys_rejected(tracking_store, key):
    run_id = new_run(tracking_store).info.run_id
    for call in (
        lambda: tracking_store.log_param(run_id, Param(key, "1")),
        lambda: tracking_store.set_tag(run_id, RunTag(key, "1")),
        lambda: tracking_store.log_metric(run_id, Metric(key, 1.0, now(), 0)),
    ):
        with pytest.raises(LabkeepException) as e:
            call()
        assert _code(e) == "INVALID_PARAMETER_VALUE"
    run = tracking_store.get_run(run_id)
    assert run.data.params == {} and run.data.metrics == {}


def test_long_values_truncated(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    tracking_store.log_param(run_id, Param("p", "x" * 7000))
    tracking_store.set_tag(run_id, RunTag("t", "y" * 9000))
    run = tracking_store.get_run(run_id)
    assert len(run.data.params["p"]) == 6000
    assert len(run.data.tags["t"]) == 8000


def test_tags_overwrite_and_delete(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    tracking_store.set_tag(run_id, RunTag("t", "1"))
    tracking_store.set_tag(run_id, RunTag("t", "2"))
    assert tracking_store.get_run(run_id).data.tags["t"] == "2"
    tracking_store.delete_tag(run_id, "t")
    assert "t" not in tracking_store.get_run(run_id).data.tags
    with pytest.raises(LabkeepException) as e:
        tracking_store.delete_tag(run_id, "t")
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_run_name_tag_updates_run_name(tracking_store):
    run_id = new_run(tracking_store, name="a").info.run_id
    tracking_store.set_tag(run_id, RunTag("mlflow.runName", "b"))
    assert tracking_store.get_run(run_id).info.run_name == "b"


def test_metrics_latest_and_history(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    t = now()
    tracking_store.log_metric(run_id, Metric("loss", 3.0, t, 2))
    tracking_store.log_metric(run_id, Metric("loss", 5.0, t, 0))  # older step: not the latest
    tracking_store.log_metric(run_id, Metric("loss", 1.0, t + 1, 2))  # same step, later timestamp
    assert tracking_store.get_run(run_id).data.metrics == {"loss": 1.0}
    history = tracking_store.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 5.0), (2, 3.0), (2, 1.0)]
    assert all(m.run_id == run_id for m in history)
    assert list(tracking_store.get_metric_history(run_id, "nothing")) == []


def test_latest_metric_is_the_newest_point_whole(tracking_store):
    """Across requests the latest value is the greatest (step, timestamp, value), with its own links."""
    run_id = new_run(tracking_store).info.run_id
    t = now()
    tracking_store.log_batch(run_id, [Metric("m", 2.0, t, 5, dataset_name="a", dataset_digest="d1")])
    tracking_store.log_batch(run_id, [Metric("m", 9.0, t + 10, 4)])  # older step
    tracking_store.log_batch(run_id, [Metric("m", 1.0, t, 5)])  # same step and time, smaller value
    (kept,) = tracking_store.get_run(run_id).data.metric_objs
    assert (kept.value, kept.step, kept.timestamp, kept.dataset_name, kept.dataset_digest) == (2.0, 5, t, "a", "d1")
    tracking_store.log_metric(run_id, Metric("m", 3.0, t, 5))  # same step and time, larger value
    (kept,) = tracking_store.get_run(run_id).data.metric_objs
    assert (kept.value, kept.step, kept.timestamp, kept.dataset_name) == (3.0, 5, t, None)
    tracking_store.log_batch(run_id, [Metric("m", -1.0, t + 1, 5), Metric("m", math.inf, t - 1, 6)])
    (kept,) = tracking_store.get_run(run_id).data.metric_objs
    assert (kept.value, kept.step, kept.timestamp) == (math.inf, 6, t - 1)  # a later step wins
    tracking_store.log_batch(run_id, [Metric("m", math.nan, t + 2, 6)])  # same step, later time
    (kept,) = tracking_store.get_run(run_id).data.metric_objs
    assert math.isnan(kept.value) and (kept.step, kept.timestamp) == (6, t + 2)


def test_identical_metric_points_stored_once(tracking_store):
    """mlflow's rule: an identical (key, value, timestamp, step) is the same point, whatever the path."""
    run_id = new_run(tracking_store).info.run_id
    t = now()
    tracking_store.log_metric(run_id, Metric("loss", 1.0, t, 0))
    tracking_store.log_metric(run_id, Metric("loss", 1.0, t, 0))  # a retried request
    tracking_store.log_batch(run_id, [Metric("loss", 1.0, t, 0), Metric("loss", 0.5, t + 1, 1)] * 2)
    tracking_store.log_batch(run_id, [Metric("loss", math.nan, t, 2), Metric("loss", math.nan, t, 2)])
    # differing in any one of value, timestamp or step: another point
    tracking_store.log_batch(run_id, [Metric("loss", 2.0, t, 0), Metric("loss", 1.0, t + 5, 0)])
    tracking_store.log_metric(run_id, Metric("loss", 1.0, t, 3))
    history = tracking_store.get_metric_history(run_id, "loss")
    got = sorted((m.step, m.timestamp - t, "nan" if math.isnan(m.value) else m.value) for m in history)
    assert got == [(0, 0, 1.0), (0, 0, 2.0), (0, 5, 1.0), (1, 1, 0.5), (2, 0, "nan"), (3, 0, 1.0)]
    assert tracking_store.get_run(run_id).data.metrics["loss"] == 1.0  # step 3 is the latest


def test_metric_linked_to_models_stays_one_point(tracking_store):
    """Linking a run's points to logged models (log_model re-logs them with model_id) adds no points."""
    run_id = new_run(tracking_store).info.run_id
    t = now()
    tracking_store.log_batch(run_id, [Metric("loss", 1.0 / (i + 1), t + i, i) for i in range(3)])
    models = [tracking_store.create_logged_model("0", f"model{i}", run_id) for i in range(2)]
    for model in models:
        linked = [Metric("loss", 1.0, t, 0, model_id=model.model_id)]
        tracking_store.log_batch(run_id, linked)
        tracking_store.log_batch(run_id, linked)  # retried
        tracking_store.log_metric(run_id, linked[0])
    history = tracking_store.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    for model in models:
        metrics = tracking_store.get_logged_model(model.model_id).metrics
        assert [(m.key, m.value, m.step, m.run_id) for m in metrics] == [("loss", 1.0, 0, run_id)]
    found = tracking_store.search_logged_models(["0"], "metrics.loss = 1.0")
    assert {m.model_id for m in found} == {m.model_id for m in models}


def test_metric_special_values(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    t = now()
    for i, value in enumerate([math.nan, math.inf, -math.inf, 1e-300, -2.5]):
        tracking_store.log_metric(run_id, Metric(f"m{i}", value, t, 0))
    metrics = tracking_store.get_run(run_id).data.metrics
    assert math.isnan(metrics["m0"])
    assert metrics["m1"] == math.inf and metrics["m2"] == -math.inf
    assert metrics["m3"] == 1e-300 and metrics["m4"] == -2.5
    history = tracking_store.get_metric_history(run_id, "m0")
    assert math.isnan(history[0].value)


def test_metric_history_as_columns(tracking_store):
    """The columnar read gives the same points as the Metric objects, in the same order."""
    run_id = new_run(tracking_store).info.run_id
    t = now()
    tracking_store.log_batch(run_id, [Metric("m", i / 7, t + (i % 3), 10 - i // 2) for i in range(20)])
    history = tracking_store.get_metric_history(run_id, "m")
    cols = tracking_store.get_metric_history_columns(run_id, "m")
    assert list(cols.steps) == [m.step for m in history] == sorted(m.step for m in history)
    assert list(cols.timestamps) == [m.timestamp for m in history]
    assert list(cols.values) == [m.value for m in history]
    assert len(history) == 20 and all(m.key == "m" and m.run_id == run_id for m in history)
    empty = tracking_store.get_metric_history_columns(run_id, "nothing")
    assert (list(empty.steps), list(empty.timestamps), list(empty.values)) == ([], [], [])
    for read in (tracking_store.get_metric_history, tracking_store.get_metric_history_columns):
        with pytest.raises(LabkeepException) as e:
            read("f" * 32, "m")
        assert _code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_metric_history_keeps_special_points(tracking_store):
    """Non-finite values and points linked to a dataset or model come back whole, in both reads."""
    run_id = new_run(tracking_store).info.run_id
    model = tracking_store.create_logged_model("0", "linked", run_id)
    t = now()
    tracking_store.log_batch(run_id, [Metric("m", float(i), t, i) for i in range(10)])
    tracking_store.log_batch(
        run_id,
        [
            Metric("m", math.inf, t, 10),
            Metric("m", math.nan, t, 11, dataset_name="eval", dataset_digest="d1"),
            Metric("m", 12.0, t, 12, model_id=model.model_id),
        ],
    )
    history = tracking_store.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(13))
    assert history[10].value == math.inf and math.isnan(history[11].value) and history[12].value == 12.0
    assert (history[11].dataset_name, history[11].dataset_digest) == ("eval", "d1")
    assert history[12].model_id == model.model_id and history[0].model_id is None
    cols = tracking_store.get_metric_history_columns(run_id, "m")
    assert list(cols.steps) == list(range(13)) and cols.values[10] == math.inf and math.isnan(cols.values[11])


@pytest.mark.parametrize("value,timestamp,step", [("abc", 1, 0), (True, 1, 0), (1.0, -1, 0), (1.0, 1, 1.5)])
def test_bad_metric_values(tracking_store, value, timestamp, step):
    run_id = new_run(tracking_store).info.run_id
    with pytest.raises(LabkeepException) as e:
        tracking_store.log_metric(run_id, Metric("m", value, timestamp, step))
    assert _code(e) == "INVALID_PARAMETER_VALUE"


def test_metric_history_paging(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    t = now()
    tracking_store.log_batch(run_id, [Metric("m", float(i), t, i) for i in range(25)])
    page = tracking_store.get_metric_history(run_id, "m", max_results=10)
    assert [m.step for m in page] == list(range(10)) and page.token
    rest = tracking_store.get_metric_history(run_id, "m", max_results=100, page_token=page.token)
    assert [m.step for m in rest] == list(range(10, 25)) and rest.token is None


def test_log_batch_all_or_nothing(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    tracking_store.log_param(run_id, Param("fixed", "1"))
    t = now()
    good_metrics = [Metric("acc", 0.5, t, 0)]
    with pytest.raises(LabkeepException):
        tracking_store.log_batch(
            run_id, good_metrics, [Param("new", "x"), Param("fixed", "2")], [RunTag("t", "v")]
        )
    run = tracking_store.get_run(run_id)
    assert run.data.params == {"fixed": "1"} and run.data.metrics == {} and "t" not in run.data.tags
    with pytest.raises(LabkeepException):
        tracking_store.log_batch(run_id, good_metrics, [Param("dup", "1"), Param("dup", "1")], [])
    with pytest.raises(LabkeepException):
        tracking_store.log_batch(run_id, [Metric("m", 1.0, t, i) for i in range(1001)], [], [])
    with pytest.raises(LabkeepException):
        tracking_store.log_batch(run_id, [], [Param(f"p{i}", "1") for i in range(101)], [])
    with pytest.raises(LabkeepException):
        tracking_store.log_batch(run_id, [Metric("ok", 1.0, t, 0), Metric("bad*", 1.0, t, 0)], [], [])
    assert tracking_store.get_run(run_id).data.metrics == {}
    tracking_store.log_batch(run_id, good_metrics, [Param("new", "x")], [RunTag("t", "v")])
    run = tracking_store.get_run(run_id)
    assert run.data.params == {"fixed": "1", "new": "x"} and run.data.metrics == {"acc": 0.5}


def test_log_batch_of_many_points_keeps_every_value(tracking_store):
    """A batch large enough for PostgreSQL's one-statement (array) insert: specials and ids survive."""
    run_id = new_run(tracking_store).info.run_id
    values = [0.5, -1.25, math.nan, math.inf, -math.inf, 1e300, 0.0, 2.0**53, 7.0, -0.0, 3.5, 1e-300]
    points = [Metric("m", x, 1_700_000_000_000 + i, 2**40 + i) for i, x in enumerate(values)]
    points.append(Metric("other", 1.0, 5, 0))
    tracking_store.log_batch(run_id, points, [], [])
    got = [(p.step, p.timestamp, p.value) for p in tracking_store.get_metric_history(run_id, "m")]
    assert [(s, t) for s, t, _ in got] == [(2**40 + i, 1_700_000_000_000 + i) for i in range(len(values))]
    for (_, _, stored), sent in zip(got, values, strict=True):
        assert (math.isnan(stored) and math.isnan(sent)) or stored == sent
    assert tracking_store.get_run(run_id).data.metrics == {"m": 1e-300, "other": 1.0}


def test_writes_to_deleted_run_refused(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    tracking_store.log_param(run_id, Param("a", "1"))
    tracking_store.delete_run(run_id)
    assert tracking_store.get_run(run_id).info.lifecycle_stage == "deleted"
    for call in (
        lambda: tracking_store.log_param(run_id, Param("b", "1")),
        lambda: tracking_store.log_metric(run_id, Metric("m", 1.0, now(), 0)),
        lambda: tracking_store.set_tag(run_id, RunTag("t", "1")),
        lambda: tracking_store.log_batch(run_id, [Metric("m", 1.0, now(), 0)], [], []),
    ):
        with pytest.raises(LabkeepException) as e:
            call()
        assert _code(e) == "INVALID_PARAMETER_VALUE"
    tracking_store.restore_run(run_id)
    tracking_store.log_param(run_id, Param("b", "1"))
    assert tracking_store.get_run(run_id).data.params == {"a": "1", "b": "1"}


def test_finished_run_still_accepts_logging(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    tracking_store.update_run_info(run_id, RunStatus.FINISHED, now(), None)
    tracking_store.log_metric(run_id, Metric("late", 2.0, now(), 0))
    assert tracking_store.get_run(run_id).data.metrics == {"late": 2.0}


# ---------------------------------------------------------------- search runs
def _populate(store):
    exp_id = store.create_experiment("search")
    runs = {}
    t = now()
    for i, (alpha, mse, tag) in enumerate(
        [("0.1", 0.9, "a"), ("0.5", 0.2, "b"), ("0.5", 0.5, "B"), ("1.0", None, "c")]
    ):
        run = store.create_run(exp_id, "u", t + i, [RunTag("team", tag)], f"run{i}")
        store.log_param(run.info.run_id, Param("alpha", alpha))
        if mse is not None:
            store.log_metric(run.info.run_id, Metric("mse", mse, t, 0))
        runs[f"run{i}"] = run.info.run_id
    return exp_id, runs


def _names(store, exp_id, **kw):
    return [r.info.run_name for r in store.search_runs([exp_id], **kw)]


def test_search_runs_filters(tracking_store):
    exp_id, _ = _populate(tracking_store)
    s = tracking_store
    assert set(_names(s, exp_id, filter_string="metrics.mse < 0.6")) == {"run1", "run2"}
    assert _names(
        s, exp_id, filter_string="metrics.mse < 1 and params.alpha = '0.5'", order_by=["metrics.mse ASC"]
    ) == ["run1", "run2"]
    assert set(_names(s, exp_id, filter_string="params.alpha != '0.5'")) == {"run0", "run3"}
    assert set(_names(s, exp_id, filter_string="metrics.mse != 0.2")) == {
        "run0",
        "run2",
    }  # missing never matches
    assert _names(s, exp_id, filter_string="tags.team LIKE 'b'") == ["run1"]
    assert set(_names(s, exp_id, filter_string="tags.team ILIKE 'b'")) == {"run1", "run2"}
    assert _names(s, exp_id, filter_string="attributes.run_name = 'run3'") == ["run3"]
    assert set(_names(s, exp_id, filter_string="params.missing IS NULL")) == {"run0", "run1", "run2", "run3"}
    assert _names(s, exp_id, filter_string="tags.`mlflow.runName` = 'run2'") == ["run2"]


def test_search_runs_order_and_paging(tracking_store):
    exp_id, _ = _populate(tracking_store)
    s = tracking_store
    assert _names(s, exp_id) == ["run3", "run2", "run1", "run0"]  # start_time DESC by default
    assert _names(s, exp_id, order_by=["metrics.mse ASC"]) == ["run1", "run2", "run0", "run3"]
    assert _names(s, exp_id, order_by=["metrics.mse DESC"]) == ["run0", "run2", "run1", "run3"]
    page = s.search_runs([exp_id], max_results=3, order_by=["attributes.run_name ASC"])
    assert [r.info.run_name for r in page] == ["run0", "run1", "run2"] and page.token
    rest = s.search_runs([exp_id], max_results=3, order_by=["attributes.run_name ASC"], page_token=page.token)
    assert [r.info.run_name for r in rest] == ["run3"] and rest.token is None


def test_search_runs_bad_input(tracking_store):
    exp_id, _ = _populate(tracking_store)
    for bad in [
        "metrics.mse < 1 OR params.a = '1'",
        "metrics.mse < '1'",
        "params.alpha = 0.5",
        "nonsense",
        "metrics.mse IS NULL",
    ]:
        with pytest.raises(LabkeepException) as e:
            tracking_store.search_runs([exp_id], filter_string=bad)
        assert _code(e) == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(LabkeepException):
        tracking_store.search_runs([exp_id], max_results=50001)
    with pytest.raises(LabkeepException):
        tracking_store.search_runs([exp_id], order_by=["metrics.mse", "metrics.mse DESC"])


def test_search_runs_view_type(tracking_store):
    exp_id, runs = _populate(tracking_store)
    tracking_store.delete_run(runs["run0"])
    assert "run0" not in _names(tracking_store, exp_id)
    assert _names(tracking_store, exp_id, run_view_type=ViewType.DELETED_ONLY) == ["run0"]
    assert len(_names(tracking_store, exp_id, run_view_type=ViewType.ALL)) == 4


# ---------------------------------------------------------------- inputs, outputs, logged models
def test_log_inputs_and_dataset_search(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    ds = Dataset("iris", "abc123", "code", '{"uri": "x"}', '{"mlflow_colspec": []}', "{}")
    tracking_store.log_inputs(run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
    tracking_store.log_inputs(
        run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])]
    )  # idempotent
    run = tracking_store.get_run(run_id)
    assert len(run.inputs.dataset_inputs) == 1
    assert run.inputs.dataset_inputs[0].dataset.name == "iris"
    assert run.inputs.dataset_inputs[0].tags[0].value == "training"
    assert [r.info.run_id for r in tracking_store.search_runs(["0"], "datasets.name = 'iris'")] == [run_id]
    assert [r.info.run_id for r in tracking_store.search_runs(["0"], "datasets.context = 'training'")] == [
        run_id
    ]


def test_logged_model_lifecycle(tracking_store):
    run_id = new_run(tracking_store).info.run_id
    model = tracking_store.create_logged_model(
        "0", "model", run_id, [RunTag("t", "1")], [Param("alpha", "0.5")]
    )
    assert model.model_id.startswith("m-") and model.status == "LOGGED_MODEL_PENDING"
    assert model.artifact_location.endswith(f"/models/{model.model_id}/artifacts")
    assert model.params == {"alpha": "0.5"} and model.tags == {"t": "1"}
    ready = tracking_store.finalize_logged_model(model.model_id, "LOGGED_MODEL_READY")
    assert ready.status == "LOGGED_MODEL_READY"
    tracking_store.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    assert tracking_store.get_run(run_id).outputs.model_outputs[0].model_id == model.model_id
    tracking_store.log_metric(run_id, Metric("acc", 0.9, now(), 0, model_id=model.model_id))
    assert [m.key for m in tracking_store.get_logged_model(model.model_id).metrics] == ["acc"]
    tracking_store.set_logged_model_tags(model.model_id, [RunTag("t", "2")])
    assert tracking_store.get_logged_model(model.model_id).tags == {"t": "2"}
    found = tracking_store.search_logged_models(["0"], "name = 'model'")
    assert [m.model_id for m in found] == [model.model_id]
    tracking_store.delete_logged_model(model.model_id)
    with pytest.raises(LabkeepException) as e:
        tracking_store.get_logged_model(model.model_id)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    for bad_name in ["a/b", "a:b", "a.b"]:
        with pytest.raises(LabkeepException):
            tracking_store.create_logged_model("0", bad_name)
