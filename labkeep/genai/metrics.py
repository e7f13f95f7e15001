"""Text metrics for evaluation: exact match, BLEU (sacrebleu), ROUGE-1/2/L (rouge-score), tokens, latency.

BLEU and ROUGE need the optional extra ``labkeep[llm]``; asking for them without it raises an
error that names the extra. Scores are in [0, 1].
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from labkeep.exceptions import LabkeepException

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _missing_extra(package: str) -> LabkeepException:
    return LabkeepException(
        f"This metric needs the '{package}' package: install the LLM extra with "
        "pip install 'labkeep[llm]' (sacrebleu, rouge-score).",
        error_code="INVALID_PARAMETER_VALUE",
    )


def exact_match(prediction: Any, target: Any) -> float:
    return 1.0 if str(prediction).strip() == str(target).strip() else 0.0


def count_tokens(text: Any) -> int:
    """An approximate token count (words and punctuation marks) when the model reports none."""
    if text is None:
        return 0
    return len(_TOKEN_RE.findall(str(text)))


def bleu(prediction: Any, target: Any) -> float:
    try:
        import sacrebleu
    except ImportError:
        raise _missing_extra("sacrebleu") from None
    return sacrebleu.sentence_bleu(str(prediction), [str(target)]).score / 100.0


def corpus_bleu(predictions: Sequence[Any], targets: Sequence[Any]) -> float:
    try:
        import sacrebleu
    except ImportError:
        raise _missing_extra("sacrebleu") from None
    if not predictions:
        return float("nan")
    return sacrebleu.corpus_bleu([str(p) for p in predictions], [[str(t) for t in targets]]).score / 100.0


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise _missing_extra("rouge-score") from None
    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)


def rouge(prediction: Any, target: Any) -> dict[str, float]:
    """F-measures: {"rouge1", "rouge2", "rougeL"}."""
    scores = _rouge_scorer().score(str(target), str(prediction))
    return {k: float(v.fmeasure) for k, v in scores.items()}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of the finite values; NaN if none."""
    xs = sorted(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def mean(values: Sequence[float]) -> float:
    xs = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(sum(xs) / len(xs)) if xs else float("nan")
