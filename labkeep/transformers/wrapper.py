"""pyfunc ``predict`` of a transformers model, with mlflow's input and output shapes.

* text-generation: strings (a list, a Series or a one-column DataFrame) -> generated texts;
* text-classification: strings -> a DataFrame of ``label`` and ``score``;
* summarization / text2text-generation: strings -> generated texts;
* chat (any ``{"messages": [...]}`` input to a generation model; ``task="llm/v1/chat"`` models
  take plain prompts too): OpenAI-style requests -> ``chat.completion`` dicts with token usage.

``params`` (and OpenAI-style fields of a chat request) go to ``generate``: ``temperature``,
``max_new_tokens`` (``max_tokens``), ``top_p``, ``top_k``, ``do_sample``, ``repetition_penalty``,
``num_beams``. Sampling follows ``do_sample``; in a chat request a temperature above 0 turns it on
(OpenAI's meaning) unless ``do_sample`` says otherwise, and temperature 0 means greedy.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.transformers.flavor import CHAT_TASK
from labkeep.transformers.loading import build_pipeline

_GEN_KEYS = ("temperature", "max_new_tokens", "top_p", "top_k", "do_sample", "repetition_penalty", "num_beams")
_CHAT_FIELDS = ("temperature", "max_tokens", "max_new_tokens", "top_p", "top_k", "stop", "n", "stream")


def generation_kwargs(params: dict[str, Any] | None, openai_style: bool = False) -> dict[str, Any]:
    """generate() keyword arguments from inference params (None values dropped).

    ``openai_style``: a chat request's temperature decides sampling (0 = greedy, above 0 = sample)
    unless ``do_sample`` is given; otherwise sampling follows ``do_sample`` as in transformers.
    """
    src = {k: v for k, v in (params or {}).items() if v is not None}
    if "max_tokens" in src and "max_new_tokens" not in src:
        src["max_new_tokens"] = src["max_tokens"]
    out = {k: src[k] for k in _GEN_KEYS if k in src}
    for key in ("max_new_tokens", "top_k", "num_beams"):
        if key in out:
            out[key] = int(out[key])
    if "temperature" in out:
        out["temperature"] = float(out["temperature"])
        if out["temperature"] <= 0:
            out.pop("temperature")
            out["do_sample"] = False
        elif openai_style:
            out.setdefault("do_sample", True)
    if not out.get("do_sample", False):
        for key in ("temperature", "top_p", "top_k"):  # sampling knobs mean nothing to greedy search
            out.pop(key, None)
    return out


def _texts(data: Any) -> list[str]:
    import numpy as np
    import pandas as pd

    if isinstance(data, str):
        return [data]
    if isinstance(data, pd.DataFrame):
        if data.shape[1] != 1:
            for col in ("prompt", "text", "inputs", "input"):
                if col in data.columns:
                    return [str(v) for v in data[col]]
            raise InvalidParameterValue(
                f"Expected one text column (or one named prompt/text/inputs); got columns {list(data.columns)}."
            )
        return [str(v) for v in data.iloc[:, 0]]
    if isinstance(data, pd.Series | np.ndarray):
        return [str(v) for v in list(data)]
    if isinstance(data, dict):
        values = list(data.values())
        if len(values) == 1:
            return _texts(values[0])
    if isinstance(data, list) and all(isinstance(v, str) for v in data):
        return list(data)
    if isinstance(data, list) and all(isinstance(v, dict) and len(v) == 1 for v in data):
        return [str(next(iter(v.values()))) for v in data]
    raise InvalidParameterValue(
        f"Input must be a string, a list of strings or a one-column DataFrame; got {type(data).__name__}."
    )


def _is_chat(data: Any) -> bool:
    import pandas as pd

    if isinstance(data, dict):
        return "messages" in data
    if isinstance(data, pd.DataFrame):
        return "messages" in data.columns
    return isinstance(data, list) and bool(data) and all(isinstance(v, dict) and "messages" in v for v in data)


def _chat_requests(data: Any) -> list[dict[str, Any]]:
    import pandas as pd

    if isinstance(data, dict):
        rows = [data]
    elif isinstance(data, pd.DataFrame):
        rows = data.to_dict("records")
    else:
        rows = list(data)
    for row in rows:
        msgs = row.get("messages")
        if msgs is not None and hasattr(msgs, "tolist"):
            row["messages"] = msgs = msgs.tolist()
        if not isinstance(msgs, list) or not all(isinstance(m, dict) and "content" in m for m in msgs):
            raise InvalidParameterValue("'messages' must be a list of {'role': ..., 'content': ...} objects.")
    return rows


class TransformersWrapper:
    def __init__(self, parts: dict[str, Any], flavor_conf: dict[str, Any], model_config: dict[str, Any]) -> None:
        self.parts = parts
        self.model = parts["model"]
        self.tokenizer = parts["tokenizer"]
        self.task = parts["task"]
        self.llm_task = flavor_conf.get("inference_task")
        self.model_name = flavor_conf.get("source_model_name") or "transformers-model"
        self.model_config = dict(model_config or {})
        self._pipeline: Any = None

    @property
    def pipeline(self) -> Any:
        """The transformers pipeline, built on first use (generation calls ``generate`` directly)."""
        if self._pipeline is None:
            self._pipeline = build_pipeline(self.parts)
        return self._pipeline

    @property
    def raw_model(self) -> Any:
        return self.pipeline if self.pipeline is not None else self.parts

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        merged = {**self.model_config, **{k: v for k, v in (params or {}).items() if v is not None}}
        if self.task == "text-generation" and _is_chat(data):
            return self._chat(_chat_requests(data), merged)
        if self.llm_task == CHAT_TASK and isinstance(data, dict):
            raise InvalidParameterValue("A chat model takes {'messages': [{'role': ..., 'content': ...}, ...]}.")
        texts = _texts(data)
        if self.task == "text-classification":
            import pandas as pd

            out = self.pipeline(texts)
            return pd.DataFrame([{"label": o["label"], "score": float(o["score"])} for o in out])
        gen = generation_kwargs(merged)
        if self.task == "text-generation":
            extra = {"return_full_text": merged["return_full_text"]} if "return_full_text" in merged else {}
            return [self._generate(t, gen, prompt_in_output=extra.get("return_full_text", True))[0] for t in texts]
        if self.task in ("summarization", "text2text-generation", "translation"):
            return [self._generate(t, gen, prompt_in_output=False)[0] for t in texts]
        if self.task == "fill-mask":
            return [self.pipeline(t)[0]["token_str"] for t in texts]
        raise InvalidParameterValue(f"pyfunc predict does not support the task {self.task!r}.")

    def _generate(self, prompt: str, gen: dict[str, Any], prompt_in_output: bool) -> tuple[str, int, int, bool]:
        """(text, prompt tokens, new tokens, stopped by the length limit) of one greedy/sampled run."""
        import torch

        tok = self.tokenizer
        enc = tok(prompt, return_tensors="pt")
        kwargs = dict(gen)
        if tok.pad_token_id is not None:
            kwargs.setdefault("pad_token_id", tok.pad_token_id)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        seq = out[0]
        is_decoder_only = not getattr(getattr(self.model, "config", None), "is_encoder_decoder", False)
        n_prompt = int(enc["input_ids"].shape[1])
        new = seq[n_prompt:] if is_decoder_only else seq
        text = tok.decode(new, skip_special_tokens=True)
        if prompt_in_output and is_decoder_only:
            text = prompt + text
        limit = kwargs.get("max_new_tokens") or getattr(self.model.generation_config, "max_new_tokens", None)
        n_new = int(len(new))
        return text, n_prompt, n_new, bool(limit and n_new >= limit)

    def _prompt(self, messages: list[dict[str, Any]]) -> str:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        lines = [f"{m.get('role', 'user')}: {m['content']}" for m in messages]
        return "\n".join([*lines, "assistant:"])

    def _chat(self, requests: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for req in requests:
            fields = {**params, **{k: req[k] for k in _CHAT_FIELDS if k in req and req[k] is not None}}
            text, n_prompt, n_new, cut = self._generate(self._prompt(req["messages"]), generation_kwargs(fields, openai_style=True),
                                                        prompt_in_output=False)  # fmt: skip
            out.append(
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": self.model_name,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "length" if cut else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_new,
                              "total_tokens": n_prompt + n_new},  # fmt: skip
                }
            )
        return out
