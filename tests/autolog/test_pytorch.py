"""PyTorch flavor and Lightning autolog: a 2-layer model trained for a few steps on CPU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from tests.autolog.conftest import artifact_paths

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from tests.autolog.torch_models import TwoLayer, lit_module_class, loaders, make_data, trainer  # noqa: E402


@pytest.fixture
def trained():
    torch.manual_seed(0)
    model = TwoLayer()
    X, y = make_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(X), y).backward()
        opt.step()
    return model.eval(), X


def test_pt2_save_load_and_pyfunc(tmp_path, trained):
    model, X = trained
    path = str(tmp_path / "m")
    labkeep.pytorch.save_model(model, path, input_example=X[:3].numpy())
    assert (tmp_path / "m" / "data" / "model.pt2").is_file()
    expected = model(X).detach().numpy()
    loaded = labkeep.pytorch.load_model(path)
    np.testing.assert_allclose(loaded(X).detach().numpy(), expected, rtol=1e-5)
    py = labkeep.pyfunc.load_model(path)
    assert py.metadata.signature is not None
    np.testing.assert_allclose(py.predict(X.numpy()), expected, rtol=1e-5)
    # a DataFrame becomes the tensor the signature describes (as in mlflow)
    np.testing.assert_allclose(np.asarray(py.predict(pd.DataFrame(X.numpy()))), expected, rtol=1e-5)


def test_pickle_format_needs_opt_in_to_load(tmp_path, trained, monkeypatch):
    model, X = trained
    path = str(tmp_path / "m")
    labkeep.pytorch.save_model(model, path, serialization_format="pickle", code_paths=[__file__])
    assert (tmp_path / "m" / "data" / "pickle_module_info.txt").read_text() == "mlflow.pytorch.pickle_module"
    with pytest.raises(LabkeepException, match="LABKEEP_ALLOW_PICKLE_DESERIALIZATION"):
        labkeep.pytorch.load_model(path)
    monkeypatch.setenv("LABKEEP_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = labkeep.pytorch.load_model(path)
    np.testing.assert_allclose(loaded(X).detach().numpy(), model(X).detach().numpy(), rtol=1e-5, atol=1e-6)
    py = labkeep.pyfunc.load_model(path)  # no signature: frames answer frames, tensors arrays
    out = py.predict(pd.DataFrame(X.numpy()))
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_allclose(out.to_numpy(), model(X).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(py.predict(X), model(X).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_clear_errors(tmp_path, trained):
    model, _X = trained
    with pytest.raises(InvalidParameterValue, match="input_example"):
        labkeep.pytorch.save_model(model, str(tmp_path / "a"), serialization_format="pt2")
    with pytest.raises(InvalidParameterValue, match="torch.nn.Module"):
        labkeep.pytorch.save_model(object(), str(tmp_path / "b"))
    with pytest.raises(InvalidParameterValue, match="serialization_format"):
        labkeep.pytorch.save_model(model, str(tmp_path / "c"), serialization_format="onnx")


def test_state_dict_round_trip_and_logged_model(tmp_path, trained):
    model, X = trained
    with labkeep.start_run() as run:
        labkeep.pytorch.log_state_dict(model.state_dict(), "weights")
        info = labkeep.pytorch.log_model(model, name="net", input_example=X[:2].numpy())
    fresh = TwoLayer()
    fresh.load_state_dict(labkeep.pytorch.load_state_dict(f"runs:/{run.info.run_id}/weights"))
    np.testing.assert_allclose(fresh(X).detach().numpy(), model(X).detach().numpy())
    reloaded = labkeep.pytorch.load_model(info.model_uri)
    np.testing.assert_allclose(reloaded(X).detach().numpy(), model(X).detach().numpy(), rtol=1e-5)


def test_plain_loop_with_log_metric_and_summary(trained):
    model, X = trained
    with labkeep.start_run() as run:
        for step in range(3):
            labkeep.log_metric("loss", 1.0 / (step + 1), step=step)
        text = labkeep.pytorch.log_model_summary(model)
    assert "Total params: 49" in text and "Linear" in text
    assert "model_summary.txt" in artifact_paths(labkeep.MlflowClient(), run.info.run_id)


def test_lightning_autolog(monkeypatch):
    labkeep.autolog()
    torch.manual_seed(0)
    train, val = loaders()
    early = pl.callbacks.EarlyStopping("val_loss", patience=5)
    tr = trainer(pl, max_epochs=3, callbacks=[early])
    tr.fit(lit_module_class(pl)(lr=0.05), train, val)
    run = labkeep.get_run(labkeep.last_active_run().info.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "pytorch"
    params = run.data.params
    assert {"epochs": "3", "optimizer_name": "Adam", "lr": "0.05", "hidden": "8", "monitor": "val_loss",
            "patience": "5"}.items() <= params.items()  # fmt: skip
    assert {"train_loss_step", "train_loss_epoch", "val_loss"} <= set(run.data.metrics)
    client = labkeep.MlflowClient()
    assert sorted({m.step for m in client.get_metric_history(run.info.run_id, "val_loss")}) == [0, 1, 2]
    files = artifact_paths(client, run.info.run_id)
    assert {"checkpoints/latest_checkpoint.pth", "checkpoints/latest_checkpoint_metrics.json",
            "model_summary.txt"} <= set(files)  # fmt: skip
    assert run.data.tags["mlflow.latest_checkpoint_artifact"] == "checkpoints/latest_checkpoint.pth"
    (out,) = run.outputs.model_outputs
    monkeypatch.setenv("LABKEEP_ALLOW_PICKLE_DESERIALIZATION", "true")
    py = labkeep.pyfunc.load_model(f"models:/{out.model_id}")
    assert py.metadata.signature is not None
    X, _ = make_data()
    assert py.predict(X[:4].numpy()).shape == (4, 1)
    assert early in tr.callbacks
    assert not [cb for cb in tr.callbacks if "Labkeep" in type(cb).__name__]  # autolog removed its callbacks


def test_lightning_step_metrics_and_every_epoch_checkpoints():
    labkeep.pytorch.autolog(log_every_n_step=1, checkpoint_save_best_only=False, log_models=False)
    torch.manual_seed(0)
    train, val = loaders()
    trainer(pl, max_epochs=2).fit(lit_module_class(pl)(), train, val)
    run = labkeep.get_run(labkeep.last_active_run().info.run_id)
    client = labkeep.MlflowClient()
    steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "train_loss_step"))
    assert steps == list(range(1, 11))  # 5 batches x 2 epochs, by global step
    files = artifact_paths(client, run.info.run_id)
    assert {"checkpoints/epoch_0/checkpoint.pth", "checkpoints/epoch_1/checkpoint.pth"} <= set(files)
    assert run.outputs.model_outputs == []


def test_both_lightning_packages_are_patched():
    import pytorch_lightning

    labkeep.autolog()
    assert getattr(pl.Trainer.fit, "_labkeep_flavor", None) == "pytorch"
    assert getattr(pytorch_lightning.Trainer.fit, "_labkeep_flavor", None) == "pytorch"
