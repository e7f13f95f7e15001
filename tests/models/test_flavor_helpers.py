"""The shared flavor steps: save_flavor, log_flavor_model, read_flavor and lazy package exports."""

from __future__ import annotations

import os
import sys

import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue
from labkeep.models.builder import save_flavor
from labkeep.models.loader import read_flavor
from labkeep.models.logging import log_flavor_model
from labkeep.models.mlmodel import Model


def _save_note(
    note: str,
    path: str,
    conda_env=None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature=None,
    input_example=None,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    shout: bool = False,
    **kwargs,
) -> Model:
    """A minimal flavor: one text file, its own flavor entry."""

    def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
        if note == "fail":
            raise RuntimeError("the flavor could not write its files")
        with open(os.path.join(model_dir, "note.txt"), "w") as fh:
            fh.write(note.upper() if shout else note)
        model.add_flavor("note", shout=shout, code=code)

    return save_flavor(locals(), write_flavor, ["numpy"])


def _log_note(note: str, name: str | None = None, shout: bool = False, tags: dict | None = None,
              artifact_path: str | None = None, registered_model_name: str | None = None,
              params: dict | None = None, model_type: str | None = None, step: int = 0,
              model_id: str | None = None, await_registration_for: int = 300, **kwargs):  # fmt: skip
    return log_flavor_model(_save_note, locals())


def test_save_flavor_writes_the_common_files_and_the_flavor(tmp_path):
    code = tmp_path / "helpers.py"
    code.write_text("VALUE = 7\n")
    model = _save_note("hi", str(tmp_path / "m"), code_paths=[str(code)], metadata={"k": "v"})
    saved = sorted(os.listdir(tmp_path / "m"))
    assert {"MLmodel", "note.txt", "requirements.txt", "conda.yaml", "python_env.yaml", "code"} <= set(saved)
    assert model.flavors["note"] == {"shout": False, "code": "code"}
    assert model.metadata == {"k": "v"} and model.model_size_bytes > 0
    assert "numpy" in (tmp_path / "m" / "requirements.txt").read_text()


def test_a_failed_save_leaves_no_directory(tmp_path):
    target = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="could not write"):
        _save_note("fail", str(target))
    assert not target.exists()


def test_log_flavor_model_splits_save_and_log_arguments():
    with labkeep.start_run():
        info = _log_note("hello", name="note-model", shout=True, tags={"team": "a"}, unknown_option=1)
    from labkeep.models.uris import download_model_uri

    model_dir = download_model_uri(info.model_uri)
    assert open(os.path.join(model_dir, "note.txt")).read() == "HELLO"  # shout= reached the save
    logged = labkeep.MlflowClient().get_logged_model(info.model_id)
    assert logged.name == "note-model" and logged.tags.get("team") == "a"  # name= and tags= the log


def test_read_flavor_names_the_flavors_present_and_adds_the_code_dir(tmp_path):
    code = tmp_path / "flavor_helpers_code_mod.py"
    code.write_text("VALUE = 7\n")
    _save_note("hi", str(tmp_path / "m"), code_paths=[str(code)])
    with pytest.raises(InvalidParameterValue, match=r"has no xgboost flavor \(flavors: \['note'\]\)"):
        read_flavor(str(tmp_path / "m"), "xgboost")
    code_dir = os.path.realpath(tmp_path / "m" / "code")
    try:
        conf, meta = read_flavor(str(tmp_path / "m"), "note")
        assert conf["shout"] is False and "note" in meta.flavors
        assert sys.path[0] == code_dir
    finally:
        if code_dir in sys.path:
            sys.path.remove(code_dir)


def test_lazy_exports_load_on_first_use_and_refuse_unknown_names():
    from labkeep.utils.lazy import lazy_attributes, public_names

    exports = {"labkeep.models.schema": ("Schema", "_private"), "labkeep.models": ("examples",)}
    getattr_ = lazy_attributes("labkeep.models", exports)
    from labkeep.models import examples, schema

    assert getattr_("Schema") is schema.Schema
    assert getattr_("examples") is examples  # a name listed under the package is its submodule
    with pytest.raises(AttributeError, match="module 'labkeep.models' has no attribute 'nope'"):
        getattr_("nope")
    assert public_names(exports) == ["Schema", "examples"]
    import labkeep.pytorch

    with pytest.raises(AttributeError, match="module 'labkeep.pytorch' has no attribute 'nope'"):
        labkeep.pytorch.nope  # noqa: B018
    assert {"save_model", "log_model_summary", "autolog"} <= set(labkeep.pytorch.__all__)
