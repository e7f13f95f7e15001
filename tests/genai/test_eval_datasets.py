"""labkeep.genai.datasets (mlflow.genai.datasets' functions) on a SQL store (the REST path is in
tests/server/test_eval_datasets_api.py)."""

from __future__ import annotations

import pytest

import labkeep
from labkeep.exceptions import LabkeepException
from labkeep.genai import datasets


@pytest.fixture
def on_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKEEP_TRACKING_URI", f"sqlite:///{tmp_path}/store.db")
    labkeep.set_tracking_uri(f"sqlite:///{tmp_path}/store.db")
    yield
    labkeep.set_tracking_uri(None)


def test_python_api_on_sql_store(on_sqlite):
    exp = labkeep.create_experiment("eval")
    ds = datasets.create_dataset("qa", experiment_id=exp, tags={"team": "ml"})
    assert ds.experiment_ids == [exp] and ds.tags == {"team": "ml"}
    ds = ds.merge_records([{"inputs": {"q": "2+2"}, "expectations": {"answer": "4"}}])
    ds.merge_records([{"inputs": {"q": "2+2"}, "tags": {"checked": "yes"}}, {"inputs": {"q": "1+1"}}])
    recs = {r["inputs"]["q"]: r for r in datasets.get_dataset(ds.dataset_id).records}
    assert sorted(recs) == ["1+1", "2+2"] and recs["2+2"]["tags"] == {"checked": "yes"}
    datasets.set_dataset_tags(ds.dataset_id, {"team": None, "stage": "dev"})
    assert datasets.get_dataset(ds.dataset_id).tags == {"stage": "dev"}
    other = labkeep.create_experiment("other")
    assert datasets.add_dataset_to_experiments(ds.dataset_id, [other]).experiment_ids == sorted([exp, other])
    assert [d.name for d in datasets.search_datasets(other)] == ["qa"]
    assert datasets.remove_dataset_from_experiments(ds.dataset_id, [exp]).experiment_ids == [other]
    datasets.delete_dataset(ds.dataset_id)
    with pytest.raises(LabkeepException) as e:
        datasets.get_dataset(ds.dataset_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
