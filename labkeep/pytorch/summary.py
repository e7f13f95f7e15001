"""Model summaries for plain PyTorch training loops: layers, shapes and parameter counts."""

from __future__ import annotations

from typing import Any


def model_summary(model: Any) -> str:
    """A text table of ``model``'s modules with their parameter counts, and the totals."""
    rows = [("name", "type", "params")]
    for name, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append((name or "(root)", type(module).__name__, f"{own:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += ["", f"Trainable params: {trainable:,}", f"Non-trainable params: {total - trainable:,}",
              f"Total params: {total:,}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def log_model_summary(model: Any, artifact_file: str = "model_summary.txt") -> str:
    """Log ``model_summary(model)`` as a text artifact of the active run; returns the text."""
    from labkeep import fluent

    text = model_summary(model)
    fluent.log_text(text, artifact_file)
    return text
