"""The autologging core: post-import hooks, safe patching, run handling, options, laziness."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pytest

import labkeep
from labkeep.autologging import enable, get_config, is_enabled, safe_patch, training_run
from labkeep.autologging.config import version_supported
from labkeep.autologging.hooks import pending_hooks, register_post_import_hook
from labkeep.autologging.integrations import INTEGRATIONS, Integration


class Model:
    def fit(self, x):
        if x == "bad":
            raise ValueError("user error")
        return f"fitted {x}"


def _fake_integration(monkeypatch, name="fake"):
    monkeypatch.setitem(INTEGRATIONS, name, Integration(name, ("json",), "x", "pip", "0", "999"))


def test_post_import_hook_runs_once_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "lk_fake_lib.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    register_post_import_hook(lambda m: seen.append(m.VALUE + 1), "lk_fake_lib")
    assert seen == [] and pending_hooks() == {"lk_fake_lib": 1}
    import lk_fake_lib  # noqa: F401

    assert seen == [42] and "lk_fake_lib" not in pending_hooks()
    register_post_import_hook(lambda m: seen.append("now"), "lk_fake_lib")  # already imported: at once
    assert seen == [42, "now"]
    sys.modules.pop("lk_fake_lib", None)


def test_failing_hook_never_breaks_the_import(tmp_path, monkeypatch):
    (tmp_path / "lk_fake_lib2.py").write_text("OK = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    register_post_import_hook(lambda m: 1 / 0, "lk_fake_lib2")
    import lk_fake_lib2

    assert lk_fake_lib2.OK
    sys.modules.pop("lk_fake_lib2", None)


def test_safe_patch_turns_logging_errors_into_one_warning(monkeypatch):
    _fake_integration(monkeypatch)
    enable("fake", {}, lambda m: None)
    calls = []

    def broken(call, self, x):
        calls.append(x)
        call(x)
        raise RuntimeError("logging backend down")

    safe_patch("fake", Model, "fit", broken)
    with pytest.warns(UserWarning, match="logging backend down"):
        assert Model().fit(1) == "fitted 1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same problem warns once
        assert Model().fit(2) == "fitted 2"
    assert calls == [1, 2]


def test_safe_patch_error_before_training_still_trains(monkeypatch):
    _fake_integration(monkeypatch)
    enable("fake", {"silent": True}, lambda m: None)

    def broken_early(call, self, x):
        raise KeyError("no run")

    safe_patch("fake", Model, "fit", broken_early)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silent=True: no warning at all
        assert Model().fit(3) == "fitted 3"


def test_user_errors_reach_the_user_unchanged_and_fail_the_run(monkeypatch):
    _fake_integration(monkeypatch)
    enable("fake", {}, lambda m: None)

    def logging_fit(call, self, x):
        with training_run("fake", get_config("fake")):
            return call(x)

    safe_patch("fake", Model, "fit", logging_fit)
    with pytest.raises(ValueError, match="user error"):
        Model().fit("bad")
    run = labkeep.last_active_run()
    assert labkeep.get_run(run.info.run_id).info.status == "FAILED"
    assert labkeep.active_run() is None


def test_run_started_and_ended_or_reused(monkeypatch):
    _fake_integration(monkeypatch)
    enable("fake", {"extra_tags": {"team": "ml"}}, lambda m: None)

    def logging_fit(call, self, x):
        with training_run("fake", get_config("fake")):
            labkeep.log_param("x", x)
            return call(x)

    safe_patch("fake", Model, "fit", logging_fit)
    Model().fit(1)
    run = labkeep.get_run(labkeep.last_active_run().info.run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"x": "1"}
    assert run.data.tags["mlflow.autologging"] == "fake" and run.data.tags["team"] == "ml"
    with labkeep.start_run() as mine:
        Model().fit(2)
        assert labkeep.active_run().info.run_id == mine.info.run_id
    assert labkeep.get_run(mine.info.run_id).data.params == {"x": "2"}


def test_exclusive_skips_runs_the_user_started(monkeypatch):
    _fake_integration(monkeypatch)
    enable("fake", {"exclusive": True}, lambda m: None)

    def logging_fit(call, self, x):
        with training_run("fake", get_config("fake")):
            labkeep.log_param("x", x)
            return call(x)

    safe_patch("fake", Model, "fit", logging_fit)
    with labkeep.start_run() as mine:
        assert Model().fit(5) == "fitted 5"
    assert labkeep.get_run(mine.info.run_id).data.params == {}


def test_disable_restores_the_original_method(monkeypatch):
    _fake_integration(monkeypatch)
    original = Model.__dict__["fit"]
    enable("fake", {}, lambda m: safe_patch("fake", Model, "fit", lambda call, self, x: call(x)))
    assert Model.__dict__["fit"] is not original
    enable("fake", {"disable": True}, lambda m: None)
    assert Model.__dict__["fit"] is original and not is_enabled("fake")


def test_nested_calls_log_once(monkeypatch):
    _fake_integration(monkeypatch)
    enable("fake", {}, lambda m: None)
    outer_calls = []

    class Outer(Model):
        def fit(self, x):
            return Model().fit(x) + "!"

    def logging_fit(call, self, x):
        outer_calls.append(type(self).__name__)
        return call(x)

    safe_patch("fake", Model, "fit", logging_fit)
    safe_patch("fake", Outer, "fit", logging_fit)
    assert Outer().fit(1) == "fitted 1!"
    assert outer_calls == ["Outer"]


def test_version_ranges():
    assert version_supported("1.9.1", "1.3", "1.9")
    assert version_supported("2.13.0+cpu", "2.0", "2.14")
    assert not version_supported("1.2.0", "1.3", "1.9")
    assert not version_supported("2.0.0", "1.3", "1.9")


def test_unsupported_version_warns_and_can_disable(monkeypatch):
    monkeypatch.setitem(INTEGRATIONS, "fake", Integration("fake", ("json",), "x", "pytest", "0.1", "0.2"))
    installed = []
    with pytest.warns(UserWarning, match="tested with pytest 0.1 to 0.2"):
        enable("fake", {}, lambda m: installed.append(1))
    assert installed == [1]
    with pytest.warns(UserWarning):
        enable("fake", {"disable_for_unsupported_versions": True}, lambda m: installed.append(2))
    assert installed == [1] and not is_enabled("fake")


def test_invalid_option_is_a_clear_error():
    with pytest.raises(labkeep.MlflowException, match="max_tuning_runs"):
        labkeep.sklearn.autolog(max_tuning_runs=-1)


def test_autolog_imports_no_framework():
    """``labkeep.autolog()`` patches nothing until the library is imported, then patches it."""
    code = textwrap.dedent(
        """
        import json, sys
        import labkeep
        labkeep.autolog()
        before = sorted(m for m in ("sklearn", "xgboost", "lightgbm", "torch", "lightning", "transformers",
                                    "openai", "langchain_core", "pandas", "sqlalchemy") if m in sys.modules)
        import sklearn.linear_model
        patched = getattr(sklearn.linear_model.LogisticRegression.fit, "_labkeep_flavor", None)
        print(json.dumps({"before": before, "patched": patched}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"before": [], "patched": "sklearn"}


def test_explicit_flavor_autolog_wins_over_universal():
    code = textwrap.dedent(
        """
        import labkeep
        from labkeep.autologging import get_config
        labkeep.autolog()
        labkeep.sklearn.autolog(registered_model_name="Mine", max_tuning_runs=1)
        import sklearn
        print(get_config("sklearn")["registered_model_name"], get_config("sklearn")["max_tuning_runs"])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["Mine", "1"]
