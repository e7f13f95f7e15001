"""The private skops load cache: used on the second load, ignored when not private, optional."""

from __future__ import annotations

import os

import labkeep.sklearn
from labkeep.sklearn import skops_cache


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch, classifier, iris_like):
    X, _ = iris_like
    monkeypatch.setenv("LABKEEP_SKOPS_CACHE_DIR", str(tmp_path / "cache"))
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path)
    first = labkeep.sklearn.load_model(path)
    entries = os.listdir(tmp_path / "cache")
    assert len(entries) == 1 and entries[0].endswith(".pkl")
    assert oct(os.stat(tmp_path / "cache" / entries[0]).st_mode & 0o777) == "0o600"
    calls = []
    import skops.io

    monkeypatch.setattr(skops.io, "load", lambda *a, **k: calls.append(a))
    second = labkeep.sklearn.load_model(path)
    assert calls == [] and list(second.predict(X)) == list(first.predict(X))


def test_cache_entries_writable_by_others_are_not_trusted(tmp_path, monkeypatch, classifier):
    monkeypatch.setenv("LABKEEP_SKOPS_CACHE_DIR", str(tmp_path / "cache"))
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path)
    labkeep.sklearn.load_model(path)
    (entry,) = os.listdir(tmp_path / "cache")
    os.chmod(tmp_path / "cache" / entry, 0o666)
    assert not skops_cache._private(str(tmp_path / "cache" / entry))
    import skops.io

    real = skops.io.load
    calls = []
    monkeypatch.setattr(skops.io, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    labkeep.sklearn.load_model(path)
    assert len(calls) == 1  # went through skops again


def test_cache_can_be_disabled(tmp_path, monkeypatch, classifier):
    monkeypatch.setenv("LABKEEP_SKOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LABKEEP_SKOPS_CACHE", "0")
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path)
    labkeep.sklearn.load_model(path)
    assert not os.path.exists(tmp_path / "cache")
