"""The shared autologging core: post-import hooks, safe patching, run handling, the registry.

``labkeep.autolog()`` turns on every installed integration; ``labkeep.<flavor>.autolog()`` one.
"""

from __future__ import annotations

from labkeep.autologging.config import get_config, is_enabled
from labkeep.autologging.integrations import INTEGRATIONS, Integration, autolog, enable
from labkeep.autologging.patching import (
    allow_nested,
    in_session,
    revert_patches,
    safe_patch,
    safe_patch_function,
)
from labkeep.autologging.runs import AUTOLOGGING_TAG, child_run, training_run

__all__ = [
    "AUTOLOGGING_TAG",
    "INTEGRATIONS",
    "Integration",
    "allow_nested",
    "autolog",
    "child_run",
    "enable",
    "get_config",
    "in_session",
    "is_enabled",
    "revert_patches",
    "safe_patch",
    "safe_patch_function",
    "training_run",
]
