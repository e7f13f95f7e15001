"""``labkeep.models.signature``: the module path scripts import signatures from."""

from __future__ import annotations

from labkeep.models import infer_signature
from labkeep.models.schema import ModelSignature

__all__ = ["ModelSignature", "infer_signature"]
