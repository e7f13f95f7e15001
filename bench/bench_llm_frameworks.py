"""LLM framework benchmarks: LangChain tracing overhead per LLM call, and LoRA adapter-only
save/load against a full model save, labkeep vs mlflow 3.17.2 (everything offline).

    .venv/bin/python bench/bench_llm_frameworks.py            # full sizes
    .venv/bin/python bench/bench_llm_frameworks.py --quick    # small sizes, a smoke run

Each side runs in a fresh subprocess in a new temporary directory with its default local store.

* ``langchain``: ``prompt | chat model | parser`` invoked N times with the library's LangChain
  autolog on, minus the same loop with autolog off (same process): the tracing cost per call,
  including the trace write. The chat model is LangChain's own in-memory ``FakeListChatModel`` so
  that no network time hides the overhead.
* ``peft``: a GPT-2 of about 5 M parameters built from a config (no download) with a LoRA adapter
  (r=8 on ``c_attn``): ``save_model`` of the adapter model (adapter weights + base reference) and
  of the plain model (full weights), size on disk, and ``load_model`` of each. Medians of trials.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Measure, clean_env, emit, median, report, run_json, temp_dir  # noqa: E402

FULL = dict(calls=300, trials=3)
QUICK = dict(calls=40, trials=1)


# ====================================================================== worker side
def _quiet() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _lib(name: str):
    if name == "labkeep":
        import labkeep as mlf
    else:
        import mlflow as mlf

        mlf.set_tracking_uri("sqlite:///mlflow.db")
    mlf.set_experiment("bench-llm")
    return mlf


def _langchain(lib: str, calls: int) -> dict:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    mlf = _lib(lib)
    chain = ChatPromptTemplate.from_template("say {x}") | FakeListChatModel(responses=["ok"]) | StrOutputParser()

    def loop() -> float:
        t0 = time.perf_counter()
        for i in range(calls):
            chain.invoke({"x": i})
        if lib == "mlflow":
            mlf.flush_trace_async_logging()
        return (time.perf_counter() - t0) / calls

    for i in range(10):
        chain.invoke({"x": i})
    plain = loop()
    mlf.langchain.autolog()
    for i in range(5):  # warm up the store
        chain.invoke({"x": i})
    traced = loop()
    mlf.langchain.autolog(disable=True)
    n = len(mlf.search_traces(max_results=calls + 100, return_type="list"))
    assert n == calls + 5, f"{lib} stored {n} traces"
    return {"plain": plain, "traced": traced, "overhead": traced - plain}


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def _tokenizer():
    """A small BPE tokenizer trained on the spot (mlflow needs one to build a pipeline)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    tok.train_from_iterator(["the cat sat on the mat", "a dog ran in the park"] * 10,
                            trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<eos>"]))  # fmt: skip
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")


def _peft(lib: str, trials: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    mlf = _lib(lib)
    flavor = mlf.transformers
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=8000, n_positions=256, n_embd=256, n_layer=4, n_head=4)
    base_dir = os.path.abspath("base")
    GPT2LMHeadModel(cfg).save_pretrained(base_dir)
    base = GPT2LMHeadModel.from_pretrained(base_dir)
    lora = get_peft_model(GPT2LMHeadModel.from_pretrained(base_dir),
                          LoraConfig(r=8, target_modules=["c_attn"], fan_in_fan_out=True))  # fmt: skip
    tok = _tokenizer()
    reqs = ["transformers", "torch", "peft"]  # skip requirement inference on both sides
    out: dict[str, list[float]] = {k: [] for k in ("save_full", "save_adapter", "load_full", "load_adapter")}
    sizes = {}
    for t in range(trials):
        full, adapter = f"full-{t}", f"adapter-{t}"
        t0 = time.perf_counter()
        flavor.save_model({"model": base, "tokenizer": tok}, full, task="text-generation", pip_requirements=reqs)
        out["save_full"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        flavor.save_model({"model": lora, "tokenizer": tok}, adapter, task="text-generation", pip_requirements=reqs,
                          base_model_path=base_dir)  # fmt: skip
        out["save_adapter"].append(time.perf_counter() - t0)
        sizes = {"full_bytes": _dir_bytes(full), "adapter_bytes": _dir_bytes(adapter)}
        t0 = time.perf_counter()
        flavor.load_model(full, return_type="components")
        out["load_full"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        flavor.load_model(adapter, return_type="components")
        out["load_adapter"].append(time.perf_counter() - t0)
    return {**{k: median(v) for k, v in out.items()}, **sizes}


# ====================================================================== driver side
def _side(lib: str, workload: str, n: int) -> dict | None:
    env = clean_env(MLFLOW_DISABLE_TELEMETRY="true", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with temp_dir(f"llmfw-{lib}") as cwd:
        try:
            return run_json([__file__, "--worker", lib, workload, str(n)], cwd, env)
        except Exception as exc:  # mlflow's flavor may not run offline here: report, do not fail
            print(f"{lib} {workload}: did not run ({str(exc).strip().splitlines()[-1][:300]})", file=sys.stderr)
            return None


def _get(d: dict | None, key: str) -> float | None:
    return None if d is None else d.get(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "WORKLOAD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        lib, workload, n = args.worker
        _quiet()
        emit(_langchain(lib, int(n)) if workload == "langchain" else _peft(lib, int(n)))
        return
    sizes = QUICK if args.quick else FULL
    lk, ml = _side("labkeep", "langchain", sizes["calls"]), _side("mlflow", "langchain", sizes["calls"])
    measures = [
        Measure("LangChain autolog overhead per LLM call (3 spans)", "s", _get(lk, "overhead"), _get(ml, "overhead"),
                notes={"calls": sizes["calls"], "untraced_labkeep": _get(lk, "plain"),
                       "untraced_mlflow": _get(ml, "plain")}),  # fmt: skip
    ]
    lk, ml = _side("labkeep", "peft", sizes["trials"]), _side("mlflow", "peft", sizes["trials"])
    for key, label in (("save_full", "save_model, full weights"), ("save_adapter", "save_model, LoRA adapter only"),
                       ("load_full", "load_model, full weights"), ("load_adapter", "load_model, base + adapter")):  # fmt: skip
        measures.append(Measure(label, "s", _get(lk, key), _get(ml, key), notes={"trials": sizes["trials"]}))
    for key, label in (("full_bytes", "model dir size, full weights"), ("adapter_bytes", "model dir size, adapter")):
        measures.append(Measure(label, "B", _get(lk, key), _get(ml, key)))
    report("llm_frameworks", measures, {"quick": args.quick})


if __name__ == "__main__":
    main()
