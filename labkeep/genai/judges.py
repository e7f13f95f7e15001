"""LLM judges: scorers that ask a judge model to grade each row and record score and rationale.

The judge is any callable ``judge(prompt: str) -> str | dict`` or an OpenAI-compatible
chat-completions endpoint: base URL from ``LABKEEP_JUDGE_BASE_URL`` (else ``OPENAI_BASE_URL``),
key from ``LABKEEP_JUDGE_API_KEY`` (else ``OPENAI_API_KEY``), model from ``LABKEEP_JUDGE_MODEL``.
The judge must answer a JSON object ``{"score": <1-5>, "rationale": "..."}``. A timeout, an HTTP
error or a malformed answer marks that row's feedback with an error; evaluation goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from labkeep import config
from labkeep.genai.scorers import Feedback, Scorer

DEFAULT_TIMEOUT_S = 30.0
_ANSWER_FORMAT = (
    'Answer with only a JSON object: {"score": <integer from 1 (worst) to 5 (best)>, '
    '"rationale": "<one or two sentences>"}.'
)
RELEVANCE_INSTRUCTIONS = (
    "You grade whether a response is relevant to the request: does it address what was asked, "
    "without drifting to other topics?"
)
CORRECTNESS_INSTRUCTIONS = (
    "You grade whether a response is factually correct when compared with the expected answer. "
    "Wording may differ; the facts must agree."
)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


_JSON_OBJ_RE = re.compile(r"\{.*\}", re.DOTALL)


def parse_judge_answer(answer: Any) -> Feedback:
    """A judge's answer (text or dict) -> Feedback; malformed answers give a Feedback with error."""
    if isinstance(answer, Feedback):
        return answer
    data = answer
    if isinstance(answer, str):
        match = _JSON_OBJ_RE.search(answer)
        if not match:
            return Feedback(error=f"Malformed judge answer (no JSON object): {answer[:200]!r}")
        try:
            data = json.loads(match.group(0))
        except ValueError:
            return Feedback(error=f"Malformed judge answer (invalid JSON): {answer[:200]!r}")
    if not isinstance(data, dict) or "score" not in data:
        return Feedback(error=f"Malformed judge answer (no 'score'): {str(answer)[:200]!r}")
    score = data["score"]
    if isinstance(score, str):
        try:
            score = float(score) if "." in score else int(score)
        except ValueError:
            pass
    rationale = data.get("rationale") or data.get("justification")
    return Feedback(value=score, rationale=None if rationale is None else str(rationale))


class OpenAICompatibleJudge:
    """Calls ``POST <base_url>/chat/completions`` and returns the first choice's content."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.base_url = (base_url or config.JUDGE_BASE_URL.get() or "").rstrip("/")
        if not self.base_url:
            from labkeep.exceptions import InvalidParameterValue

            raise InvalidParameterValue(
                "No judge endpoint: pass judge=<callable>, or set LABKEEP_JUDGE_BASE_URL (an "
                "OpenAI-compatible base URL such as http://host:port/v1) and LABKEEP_JUDGE_API_KEY."
            )
        self.api_key = api_key or config.JUDGE_API_KEY.get()
        self.model = model or config.JUDGE_MODEL.get() or "gpt-4o-mini"
        env_timeout = config.JUDGE_TIMEOUT.get()
        self.timeout = timeout if timeout is not None else float(env_timeout or DEFAULT_TIMEOUT_S)

    def __call__(self, prompt: str, system: str | None = None) -> str:
        import httpx

        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        resp = httpx.post(
            f"{self.base_url}/chat/completions",
            json={"model": self.model, "messages": messages, "temperature": 0},
            headers=headers,
            timeout=self.timeout,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"judge endpoint answered HTTP {resp.status_code}: {resp.text[:200]}")
        body = resp.json()
        return body["choices"][0]["message"]["content"]


class Judge(Scorer):
    """A scorer graded by a judge model following ``instructions``."""

    is_judge = True

    def __init__(
        self,
        name: str,
        instructions: str,
        judge: Callable[..., Any] | None = None,
        needs_expectations: bool = False,
        **endpoint: Any,
    ) -> None:
        self.name = name
        self.instructions = instructions
        self.needs_expectations = needs_expectations
        self._judge = judge
        self._endpoint = endpoint

    @property
    def judge(self) -> Callable[..., Any]:
        if self._judge is None:
            self._judge = OpenAICompatibleJudge(**self._endpoint)
        return self._judge

    def prompt(self, inputs: Any, outputs: Any, expectations: Any) -> str:
        text = self.instructions
        values = {"inputs": inputs, "outputs": outputs, "expectations": expectations}
        used = False
        for key, value in values.items():
            for token in ("{{" + key + "}}", "{{ " + key + " }}"):
                if token in text:
                    text = text.replace(token, _show(value))
                    used = True
        if not used:
            parts = [text, "", f"Request:\n{_show(inputs)}", "", f"Response:\n{_show(outputs)}"]
            if expectations is not None:
                parts += ["", f"Expected answer:\n{_show(expectations)}"]
            text = "\n".join(parts)
        return text + "\n\n" + _ANSWER_FORMAT

    def __call__(
        self, inputs: Any = None, outputs: Any = None, expectations: Any = None, **_: Any
    ) -> Feedback:
        if self.needs_expectations and expectations is None:
            return Feedback(
                error=f"{self.name} needs an expected answer (expectations/targets) for this row."
            )
        judge = self.judge  # a missing endpoint configuration raises here, not per row
        try:
            answer = judge(self.prompt(inputs, outputs, expectations))
        except Exception as exc:
            kind = "timed out" if "timeout" in type(exc).__name__.lower() else "failed"
            return Feedback(error=f"Judge {kind}: {type(exc).__name__}: {exc}")
        return parse_judge_answer(answer)


def relevance(judge: Callable[..., Any] | None = None, name: str = "relevance", **endpoint: Any) -> Judge:
    """Is the response relevant to the request? (1-5)"""
    return Judge(name, RELEVANCE_INSTRUCTIONS, judge, **endpoint)


def correctness(judge: Callable[..., Any] | None = None, name: str = "correctness", **endpoint: Any) -> Judge:
    """Does the response agree with the expected answer? (1-5; rows need expectations)"""
    return Judge(name, CORRECTNESS_INSTRUCTIONS, judge, needs_expectations=True, **endpoint)


def make_judge(
    name: str, instructions: str, judge: Callable[..., Any] | None = None, **endpoint: Any
) -> Judge:
    """A judge following your own ``instructions``; ``{{inputs}}``, ``{{outputs}}`` and
    ``{{expectations}}`` in them are replaced by the row's values."""
    return Judge(name, instructions, judge, **endpoint)


custom_judge = make_judge
