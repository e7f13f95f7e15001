"""Trainer autolog (a real fine-tuning run of the tiny GPT-2) and ``labkeep models serve`` of a
transformers model answering the scoring protocol and OpenAI-style chat bodies."""

from __future__ import annotations

import os

import httpx
import pytest

import labkeep

pytestmark = pytest.mark.transformers
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tests.hf_models.conftest import SENTENCES  # noqa: E402


class _LMData(torch.utils.data.Dataset):
    def __init__(self, tok):
        self.items = [tok(s, truncation=True, max_length=16, padding="max_length") for s in SENTENCES]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        ids = torch.tensor(self.items[i]["input_ids"])
        mask = torch.tensor(self.items[i]["attention_mask"])
        return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}


def test_trainer_run_is_logged(tiny, tracking, tmp_path):
    from transformers import GPT2LMHeadModel, Trainer, TrainingArguments

    labkeep.transformers.autolog()
    try:
        model = GPT2LMHeadModel.from_pretrained(tiny["gpt_dir"])
        data = _LMData(tiny["tokenizer"])
        args = TrainingArguments(
            output_dir=str(tmp_path / "out"), max_steps=4, per_device_train_batch_size=4, logging_steps=1,
            eval_strategy="steps", eval_steps=2, save_steps=2, learning_rate=1e-3, report_to=[], use_cpu=True,
            disable_tqdm=True, save_total_limit=2,
        )  # fmt: skip
        trainer = Trainer(model=model, args=args, train_dataset=data, eval_dataset=data)
        trainer.train()
    finally:
        labkeep.transformers.autolog(disable=True)
    runs = labkeep.search_runs(output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and labkeep.active_run() is None
    assert run.data.params["learning_rate"] == "0.001" and run.data.params["max_steps"] == "4"
    assert run.data.params["model_config.n_layer"] == "2"
    client = labkeep.Client()
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in loss] == [1, 2, 3, 4]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "learning_rate")] == [1, 2, 3, 4]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval_loss")] == [2, 4]
    assert "train_runtime" in run.data.metrics
    ckpts = {f.path for f in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert ckpts == {"checkpoints/checkpoint-2", "checkpoints/checkpoint-4"}
    files = {os.path.basename(f.path) for f in client.list_artifacts(run.info.run_id, "checkpoints/checkpoint-4")}
    assert "model.safetensors" in files and "trainer_state.json" in files

    # autolog off: a new trainer logs nothing
    before = len(labkeep.search_runs(output_format="list"))
    quick = TrainingArguments(output_dir=str(tmp_path / "out2"), max_steps=1, report_to=[], use_cpu=True,
                              save_strategy="no", disable_tqdm=True)  # fmt: skip
    Trainer(model=model, args=quick, train_dataset=data).train()
    assert len(labkeep.search_runs(output_format="list")) == before


def test_served_model_answers_scoring_protocol_and_chat(tiny, tmp_path):
    """A real ``labkeep models serve`` process with a chat model: OpenAI-style chat bodies and
    mlflow's scoring protocol; generation params of a text-generation model through the same app
    in process (the server's code path without a second slow process start)."""
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

    from labkeep.serving.app import create_app
    from tests.serving.conftest import free_port, serve_argv, serving

    tok = tiny["tokenizer"]
    chat_path, gen_path = str(tmp_path / "chat"), str(tmp_path / "gen")
    labkeep.transformers.save_model({"model": tiny["gpt"], "tokenizer": tok}, chat_path, task="llm/v1/chat")
    labkeep.transformers.save_model({"model": tiny["gpt"], "tokenizer": tok}, gen_path)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    chat = labkeep.pyfunc.load_model(chat_path)
    with serving(serve_argv(chat_path, port, "--env-manager", "local"), port, env=env, timeout=180) as url:
        body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 3, "temperature": 0}
        r = httpx.post(f"{url}/invocations", json=body, timeout=60)
        assert r.status_code == 200, r.text
        # as mlflow's scoring server does: an OpenAI-style body is answered with the model's output as it is
        # (a list of chat.completion objects), without the predictions envelope
        (answer,) = r.json()
        assert answer["object"] == "chat.completion" and answer["usage"]["completion_tokens"] <= 3
        expected = chat.predict(body)[0]["choices"][0]["message"]["content"]
        assert answer["choices"][0]["message"]["content"] == expected
        r = httpx.post(f"{url}/invocations", json={"dataframe_records": [{"messages": body["messages"]}]}, timeout=60)
        assert r.status_code == 200 and r.json()["predictions"][0]["object"] == "chat.completion"
        r = httpx.post(f"{url}/invocations", json={"inputs": ["the cat"]}, timeout=60)
        assert r.status_code == 200 and r.json()["predictions"][0].startswith("the cat")
        bad = httpx.post(f"{url}/invocations", json={"messages": "nope"}, timeout=60)
        assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    gen = labkeep.pyfunc.load_model(gen_path)
    with TestClient(create_app(gen)) as client:
        r = client.post("/invocations", json={"inputs": ["the cat"], "params": {"max_new_tokens": 3}})
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": gen.predict(["the cat"], params={"max_new_tokens": 3})}
        r = client.post("/invocations", json={"dataframe_split": {"columns": ["prompt"], "data": [["the dog"]]}})
        assert r.status_code == 200 and r.json()["predictions"][0].startswith("the dog")
