"""Lazy package attributes: a package lists what it exports by module; each loads on first use.

Keeps ``import labkeep.<package>`` light: the modules behind the names (and the frameworks they
import) load only when a name is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# ``{module: names}``: each name is an attribute of that module; names listed under the package
# itself are its submodules.
Exports = Mapping[str, Iterable[str]]


def lazy_attributes(package: str, exports: Exports) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each exported name when first read."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == package:
            return importlib.import_module(f"{package}.{name}")
        return getattr(importlib.import_module(module), name)

    return __getattr__


def public_names(exports: Exports) -> list[str]:
    """The exported names not starting with ``_``, sorted (for ``__all__``)."""
    return sorted(name for names in exports.values() for name in names if not name.startswith("_"))
