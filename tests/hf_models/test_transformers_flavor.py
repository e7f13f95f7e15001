"""The transformers flavor on tiny models built in the session (conftest.py): full, by-reference and
LoRA-adapter saves, pyfunc predict with params, chat, serving, and mlflow 3.17's flavor both ways."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
import yaml

import labkeep
from labkeep.exceptions import InvalidParameterValue, LabkeepException

pytestmark = pytest.mark.transformers
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _greedy(model, tok, text, n=6):
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id)
    return out[0].tolist()


def _logits(model, tok, text="the cat sat"):
    with torch.no_grad():
        return model(**tok(text, return_tensors="pt")).logits


def _flavor(path):
    with open(os.path.join(path, "MLmodel")) as fh:
        return yaml.safe_load(fh)


def _dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def test_pipeline_saved_in_full_loads_and_predicts_with_params(tiny, tracking, tmp_path):
    tok, gpt = tiny["tokenizer"], tiny["gpt"]
    pipe = transformers.pipeline("text-generation", model=gpt, tokenizer=tok)
    with labkeep.start_run():
        info = labkeep.transformers.log_model(
            pipe, name="gpt", model_card="# Tiny GPT\nA test model.", model_config={"max_new_tokens": 5}
        )
    local = labkeep.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "dl"))
    mlmodel = _flavor(local)
    conf = mlmodel["flavors"]["transformers"]
    assert conf["task"] == "text-generation" and conf["instance_type"] == "TextGenerationPipeline"
    assert conf["pipeline_model_type"] == "GPT2LMHeadModel" and conf["model_binary"] == "model"
    assert conf["components"] == ["tokenizer"] and conf["tokenizer_type"] == type(tok).__name__
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.transformers"
    assert mlmodel["flavors"]["python_function"]["config"] == {"max_new_tokens": 5}
    assert os.path.isfile(os.path.join(local, "model", "generation_config.json"))
    assert open(os.path.join(local, "model_card.md")).read().startswith("# Tiny GPT")
    params = {p["name"]: p["default"] for p in json.loads(mlmodel["signature"]["params"])}
    assert params["max_new_tokens"] == 5 and params["temperature"] == 1.0 and params["do_sample"] is False

    loaded = labkeep.transformers.load_model(info.model_uri)
    assert isinstance(loaded, transformers.TextGenerationPipeline)
    assert _greedy(loaded.model, loaded.tokenizer, "the cat") == _greedy(gpt, tok, "the cat")

    model = labkeep.pyfunc.load_model(info.model_uri)
    (five,) = model.predict(["the cat"])
    (two,) = model.predict(pd.DataFrame({"prompt": ["the cat"]}), params={"max_new_tokens": 2})
    assert five.startswith("the cat") and two.startswith("the cat") and five.startswith(two)
    assert len(tok(five).input_ids) > len(tok(two).input_ids)
    greedy = model.predict(["the dog"], params={"max_new_tokens": 8, "temperature": 0.0})
    torch.manual_seed(0)
    sampled = [model.predict(["the dog"], params={"max_new_tokens": 8, "temperature": 5.0, "do_sample": True})[0] for _ in range(3)]
    assert any(s != greedy[0] for s in sampled)  # temperature reached generate() and sampling happened


def test_chat_messages_and_classification(tiny, tmp_path):
    tok = tiny["tokenizer"]
    chat_dir = str(tmp_path / "chat")
    labkeep.transformers.save_model({"model": tiny["gpt"], "tokenizer": tok}, chat_dir, task="llm/v1/chat")
    mlmodel = _flavor(chat_dir)
    assert mlmodel["metadata"]["task"] == "llm/v1/chat"
    assert mlmodel["flavors"]["transformers"]["inference_task"] == "llm/v1/chat"
    chat = labkeep.pyfunc.load_model(chat_dir)
    (answer,) = chat.predict({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["role"] == "assistant"
    assert answer["usage"]["completion_tokens"] <= 4 and answer["usage"]["prompt_tokens"] == len(
        tok("user: hi\nassistant:").input_ids
    )
    expected = tok.decode(_greedy(tiny["gpt"], tok, "user: hi\nassistant:", 4)[answer["usage"]["prompt_tokens"] :],
                          skip_special_tokens=True)  # fmt: skip
    assert answer["choices"][0]["message"]["content"] == expected

    cls_dir = str(tmp_path / "cls")
    labkeep.transformers.save_model({"model": tiny["bert"], "tokenizer": tok}, cls_dir)
    assert _flavor(cls_dir)["flavors"]["transformers"]["task"] == "text-classification"
    out = labkeep.pyfunc.load_model(cls_dir).predict(pd.DataFrame({"text": ["i love this", "boring film"]}))
    reference = transformers.pipeline("text-classification", model=tiny["bert"], tokenizer=tok)(
        ["i love this", "boring film"]
    )
    assert list(out["label"]) == [r["label"] for r in reference]
    assert list(out["score"]) == pytest.approx([r["score"] for r in reference], rel=1e-5)

    with pytest.raises(InvalidParameterValue, match="'model'"):
        labkeep.transformers.save_model({"tokenizer": tok}, str(tmp_path / "bad"))
    with pytest.raises(InvalidParameterValue, match="messages"):
        chat.predict({"messages": "not a list"})


def test_lora_adapter_saved_alone_and_predicts_identically(tiny, tmp_path):
    tok, lora = tiny["tokenizer"], tiny["lora"]
    full_dir, lora_dir = str(tmp_path / "full"), str(tmp_path / "lora")
    labkeep.transformers.save_model({"model": tiny["gpt"], "tokenizer": tok}, full_dir)
    labkeep.transformers.save_model({"model": lora, "tokenizer": tok}, lora_dir)
    conf = _flavor(lora_dir)["flavors"]["transformers"]
    assert conf["peft_adaptor"] == "peft" and conf["local_base_model_path"] == tiny["gpt_dir"]
    assert "model_binary" not in conf and not os.path.exists(os.path.join(lora_dir, "model"))
    assert os.path.isfile(os.path.join(lora_dir, "peft", "adapter_model.safetensors"))
    adapter = _dir_bytes(os.path.join(lora_dir, "peft"))
    weights = _dir_bytes(os.path.join(full_dir, "model"))
    assert adapter * 5 < weights, (adapter, weights)

    loaded = labkeep.transformers.load_model(lora_dir, return_type="components")
    from peft import PeftModel

    assert isinstance(loaded["model"], PeftModel)
    assert torch.equal(_logits(loaded["model"], tok), _logits(lora, tok))
    assert not torch.allclose(_logits(tiny["gpt"], tok), _logits(lora, tok))  # the adapter matters
    pyfunc_out = labkeep.pyfunc.load_model(lora_dir).predict(["the cat"], params={"max_new_tokens": 6})
    assert pyfunc_out == [tok.decode(_greedy(lora, tok, "the cat"), skip_special_tokens=True)]

    moved = str(tmp_path / "base-moved")
    shutil.copytree(tiny["gpt_dir"], moved)
    relocated = str(tmp_path / "lora-relocated")
    labkeep.transformers.save_model({"model": lora, "tokenizer": tok}, relocated, base_model_path=moved)
    shutil.rmtree(moved)
    with pytest.raises(LabkeepException, match="base model of this adapter"):
        labkeep.transformers.load_model(relocated)
    again = labkeep.transformers.load_model(relocated, base_model_path=tiny["gpt_dir"], return_type="components")
    assert torch.equal(_logits(again["model"], tok), _logits(lora, tok))
    with pytest.raises(InvalidParameterValue, match="only for PEFT"):
        labkeep.transformers.save_model({"model": tiny["gpt"]}, str(tmp_path / "x"), base_model_path=moved)


REPO, SHA = "labkeep-test/tiny-gpt2", "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tiny, tmp_path, monkeypatch):
    """A local hub cache holding REPO at commit SHA (what a download would leave); no network."""
    import huggingface_hub

    cache = tmp_path / "hub"
    root = cache / ("models--" + REPO.replace("/", "--"))
    shutil.copytree(tiny["gpt_dir"], root / "snapshots" / SHA)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(SHA)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_save_by_reference_records_hub_name_and_revision(tiny, tmp_path, hub_cache):
    from transformers import GPT2LMHeadModel

    repo, sha = REPO, SHA
    model = GPT2LMHeadModel.from_pretrained(repo, revision=sha).eval()
    tok = transformers.AutoTokenizer.from_pretrained(repo, revision=sha)
    ref_dir = str(tmp_path / "ref")
    labkeep.transformers.save_model({"model": model, "tokenizer": tok}, ref_dir, save_pretrained=False)
    conf = _flavor(ref_dir)["flavors"]["transformers"]
    assert (conf["source_model_name"], conf["source_model_revision"]) == (repo, sha)
    assert (conf["tokenizer_name"], conf["tokenizer_revision"]) == (repo, sha)
    assert not os.path.exists(os.path.join(ref_dir, "model")) and _dir_bytes(ref_dir) < 20_000
    loaded = labkeep.transformers.load_model(ref_dir, return_type="components")
    assert torch.equal(_logits(loaded["model"], tok), _logits(model, tok))

    unknown = GPT2LMHeadModel(model.config)  # built in memory: neither a repo nor a commit
    unknown.name_or_path = "labkeep-test/never-published"
    with pytest.raises(InvalidParameterValue, match="commit hash"):
        labkeep.transformers.save_model({"model": unknown}, str(tmp_path / "x"), save_pretrained=False)


@pytest.mark.compat
def test_mlflow_loads_a_labkeep_model_saved_by_reference(tiny, tmp_path, hub_cache):
    import mlflow.transformers
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(REPO, revision=SHA).eval()
    tok = transformers.AutoTokenizer.from_pretrained(REPO, revision=SHA)
    ref_dir = str(tmp_path / "ref")
    labkeep.transformers.save_model({"model": model, "tokenizer": tok}, ref_dir, save_pretrained=False)
    pipe = mlflow.transformers.load_model(ref_dir)
    assert torch.equal(_logits(pipe.model, tok), _logits(model, tok))


@pytest.mark.compat
def test_mlflow_flavor_loads_labkeep_models_and_back(tiny, tmp_path):
    import mlflow.pyfunc
    import mlflow.transformers

    tok = tiny["tokenizer"]
    lk_dir, lora_dir, mf_dir = str(tmp_path / "lk"), str(tmp_path / "lk-lora"), str(tmp_path / "mf")
    labkeep.transformers.save_model({"model": tiny["gpt"], "tokenizer": tok}, lk_dir)
    labkeep.transformers.save_model({"model": tiny["lora"], "tokenizer": tok}, lora_dir)
    pipe = mlflow.transformers.load_model(lk_dir)
    assert _greedy(pipe.model, pipe.tokenizer, "the cat") == _greedy(tiny["gpt"], tok, "the cat")
    mf_out = mlflow.pyfunc.load_model(lk_dir).predict(["the cat"], params={"max_new_tokens": 4})
    lk_out = labkeep.pyfunc.load_model(lk_dir).predict(["the cat"], params={"max_new_tokens": 4})
    assert list(mf_out) == lk_out
    chat_dir = str(tmp_path / "lk-chat")
    labkeep.transformers.save_model({"model": tiny["gpt"], "tokenizer": tok}, chat_dir, task="llm/v1/chat")
    request = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    (mf_chat,) = mlflow.pyfunc.load_model(chat_dir).predict(request)
    (lk_chat,) = labkeep.pyfunc.load_model(chat_dir).predict(request)
    assert mf_chat["object"] == lk_chat["object"] == "chat.completion"
    assert mf_chat["usage"]["prompt_tokens"] == lk_chat["usage"]["prompt_tokens"]
    mf_lora = mlflow.transformers.load_model(lora_dir, return_type="components")
    assert torch.equal(_logits(mf_lora["model"], tok), _logits(tiny["lora"], tok))

    mlflow.transformers.save_model(
        transformers.pipeline("text-generation", model=tiny["gpt"], tokenizer=tok),
        mf_dir,
        pip_requirements=["transformers", "torch"],  # mlflow's inference wants torchvision
    )
    mf_lora_dir = str(tmp_path / "mf-lora")
    mlflow.transformers.save_model({"model": tiny["lora"], "tokenizer": tok}, mf_lora_dir, task="text-generation",
                                   base_model_path=tiny["gpt_dir"], pip_requirements=["transformers"])  # fmt: skip
    lk_lora = labkeep.transformers.load_model(mf_lora_dir, return_type="components")
    assert torch.equal(_logits(lk_lora["model"], tok), _logits(tiny["lora"], tok))
    back = labkeep.transformers.load_model(mf_dir)
    assert _greedy(back.model, back.tokenizer, "the dog") == _greedy(tiny["gpt"], tok, "the dog")
    assert labkeep.pyfunc.load_model(mf_dir).predict(["the dog"], params={"max_new_tokens": 3})[0].startswith(
        "the dog"
    )


def test_summarization_with_a_seq2seq_model(tiny, tmp_path):
    """transformers 5 has no summarization pipeline: pyfunc runs generate() on the encoder-decoder."""
    from transformers import BartConfig, BartForConditionalGeneration

    tok = tiny["tokenizer"]
    eos, pad = tok.eos_token_id, tok.pad_token_id
    torch.manual_seed(3)
    cfg = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                     decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
                     pad_token_id=pad, bos_token_id=eos, eos_token_id=eos, decoder_start_token_id=eos)  # fmt: skip
    bart = BartForConditionalGeneration(cfg).eval()
    path = str(tmp_path / "sum")
    labkeep.transformers.save_model({"model": bart, "tokenizer": tok}, path, model_config={"max_new_tokens": 4})
    assert _flavor(path)["flavors"]["transformers"]["task"] == "summarization"
    text = "the cat sat on the mat and the dog ran in the park"
    with torch.no_grad():
        ref = bart.generate(**tok(text, return_tensors="pt"), max_new_tokens=4, do_sample=False, pad_token_id=pad)
    out = labkeep.pyfunc.load_model(path).predict(pd.Series([text]))
    assert out == [tok.decode(ref[0], skip_special_tokens=True)]
