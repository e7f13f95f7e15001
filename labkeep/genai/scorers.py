"""Scorers for ``labkeep.genai.evaluate`` (mlflow 3's shape) and ``labkeep.evaluate`` extra metrics.

A scorer grades one row. Write one as a plain function taking any of ``inputs``, ``outputs``,
``expectations``, ``trace`` (by name) and returning a number, bool, string, dict of those, or a
``Feedback`` (value + rationale); decorate it with ``@scorer`` to name it. Built-ins:
``ExactMatch``, ``Bleu``, ``Rouge``, and the LLM judges in ``labkeep.genai.judges``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_ARG_NAMES = ("inputs", "outputs", "expectations", "trace")


@dataclass
class Feedback:
    """A scorer's verdict on one row: a value, why, and an error when grading failed."""

    value: Any = None
    rationale: str | None = None
    error: str | None = None
    name: str | None = None


class Scorer:
    """A named row grader. Subclasses implement ``__call__(inputs=, outputs=, expectations=, trace=)``."""

    name: str = "scorer"

    def __call__(self, **kwargs: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def run(self, inputs: Any, outputs: Any, expectations: Any, trace: Any = None) -> Any:
        return self(inputs=inputs, outputs=outputs, expectations=expectations, trace=trace)


class FunctionScorer(Scorer):
    def __init__(self, func: Callable[..., Any], name: str | None = None) -> None:
        self.func = func
        self.name = name or str(getattr(func, "__name__", "scorer"))
        try:
            params = inspect.signature(func).parameters
            self._wants_all = any(p.kind == p.VAR_KEYWORD for p in params.values())
            self._args = [n for n in params if n in _ARG_NAMES]
        except (TypeError, ValueError):
            self._wants_all, self._args = True, list(_ARG_NAMES)

    def __call__(self, **kwargs: Any) -> Any:
        if self._wants_all:
            return self.func(**kwargs)
        return self.func(**{k: kwargs.get(k) for k in self._args})


def scorer(func: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Turn a function into a named ``Scorer`` (``@scorer`` or ``@scorer(name="polite")``)."""
    if func is not None:
        return FunctionScorer(func, name)
    return lambda f: FunctionScorer(f, name)


def as_scorer(obj: Any) -> Scorer:
    if isinstance(obj, Scorer):
        return obj
    if callable(obj):
        return FunctionScorer(obj)
    raise TypeError(f"{obj!r} is not a scorer: pass a function or a labkeep.genai.scorers.Scorer.")


def _expected(expectations: Any) -> Any:
    if isinstance(expectations, dict):
        for key in ("expected_response", "expected", "target", "expected_output"):
            if key in expectations:
                return expectations[key]
        if len(expectations) == 1:
            return next(iter(expectations.values()))
        return None
    return expectations


def _text(outputs: Any) -> str:
    from labkeep.genai.evaluation import output_text

    return output_text(outputs)


class ExactMatch(Scorer):
    name = "exact_match"

    def __call__(self, outputs: Any = None, expectations: Any = None, **_: Any) -> Any:
        from labkeep.genai.metrics import exact_match

        target = _expected(expectations)
        return None if target is None else exact_match(_text(outputs), target)


class Bleu(Scorer):
    name = "bleu"

    def __call__(self, outputs: Any = None, expectations: Any = None, **_: Any) -> Any:
        from labkeep.genai.metrics import bleu

        target = _expected(expectations)
        return None if target is None else bleu(_text(outputs), target)


class Rouge(Scorer):
    name = "rouge"

    def __call__(self, outputs: Any = None, expectations: Any = None, **_: Any) -> Any:
        from labkeep.genai.metrics import rouge

        target = _expected(expectations)
        return None if target is None else rouge(_text(outputs), target)


# ---- mlflow 3 judge scorer names (LLM judges from labkeep.genai.judges)
def Correctness(judge: Callable[..., Any] | None = None, **endpoint: Any) -> Scorer:  # noqa: N802
    """mlflow's ``Correctness()``: the response agrees with ``expectations`` (judge scores 1-5)."""
    from labkeep.genai.judges import correctness

    return correctness(judge=judge, **endpoint)


def RelevanceToQuery(judge: Callable[..., Any] | None = None, **endpoint: Any) -> Scorer:  # noqa: N802
    """mlflow's ``RelevanceToQuery()``: the response addresses the request (judge scores 1-5)."""
    from labkeep.genai.judges import relevance

    return relevance(judge=judge, name="relevance_to_query", **endpoint)


def Guidelines(
    name: str, guidelines: str | list[str], judge: Callable[..., Any] | None = None, **endpoint: Any
) -> Scorer:  # noqa: N802
    """mlflow's ``Guidelines(name, guidelines)``: the response follows the given rules."""
    from labkeep.genai.judges import make_judge

    rules = guidelines if isinstance(guidelines, str) else "\n".join(f"- {g}" for g in guidelines)
    return make_judge(
        name, f"You check whether a response follows these guidelines:\n{rules}", judge=judge, **endpoint
    )
