"""The registry of autolog integrations and ``labkeep.autolog()``, which turns them all on.

Each integration names the module whose import switches it on, the labkeep module holding its
``autolog`` and the library versions it is tested with. Nothing here imports a framework:
patching happens in a post-import hook, when (or if) the user imports the library.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkeep.autologging.config import check_version, get_config, set_config
from labkeep.autologging.hooks import clear_hooks, register_post_import_hook
from labkeep.autologging.patching import revert_patches

_log = logging.getLogger("labkeep.autologging")


@dataclass(frozen=True)
class Integration:
    """One framework labkeep can autolog."""

    name: str
    modules: tuple[str, ...]  # importing any of these switches the integration on
    labkeep_module: str  # holds ``autolog``
    distribution: str  # the installed package whose version is checked
    min_version: str
    max_version: str


INTEGRATIONS: dict[str, Integration] = {
    i.name: i
    for i in (
        Integration("sklearn", ("sklearn",), "labkeep.sklearn", "scikit-learn", "1.3", "1.9"),
        Integration("xgboost", ("xgboost",), "labkeep.xgboost", "xgboost", "2.0", "3.2"),
        Integration("lightgbm", ("lightgbm",), "labkeep.lightgbm", "lightgbm", "4.0", "4.7"),
        Integration(
            "pytorch", ("lightning.pytorch", "pytorch_lightning"), "labkeep.pytorch", "lightning", "2.0", "2.6"
        ),
        Integration("transformers", ("transformers",), "labkeep.transformers", "transformers", "4.45", "5.25"),
        Integration("langchain", ("langchain_core",), "labkeep.langchain", "langchain-core", "0.3", "1.9"),
        Integration("openai", ("openai",), "labkeep.openai", "openai", "1.30", "3.63"),
    )
}


def installed_version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def enable(
    flavor: str,
    options: dict[str, Any],
    install: Callable[[Any], None],
    modules: tuple[str, ...] | None = None,
) -> None:
    """Store ``flavor``'s options; patch with ``install(module)`` once its library is imported.

    ``disable=True`` puts back every patched method instead.
    """
    conf = set_config(flavor, options)
    if conf["disable"]:
        revert_patches(flavor)
        return
    integ = INTEGRATIONS[flavor]
    done: set[str] = set()  # each watched module is patched once (Lightning has two packages)

    def hook(module: Any) -> None:
        if module.__name__ in done or get_config(flavor) is not conf:
            return  # another autolog() call replaced these options
        version = installed_version(integ.distribution)
        if version is not None and not check_version(
            flavor, integ.distribution, version, integ.min_version, integ.max_version, conf["silent"]
        ):
            if conf["disable_for_unsupported_versions"]:
                set_config(flavor, {**conf, "disable": True})
                return
        done.add(module.__name__)
        install(module)

    for name in modules or integ.modules:
        register_post_import_hook(hook, name)


def _installed(integ: Integration) -> bool:
    for name in integ.modules:
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def _call_flavor_autolog(integ: Integration, options: dict[str, Any]) -> None:
    fn = importlib.import_module(integ.labkeep_module).autolog
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        fn(**options)
    else:
        fn(**{k: v for k, v in options.items() if k in params})


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Turn on autologging for every supported library that is installed.

    Libraries are patched when they are imported (at once when they already are); importing
    labkeep imports none of them. Supported: scikit-learn, XGBoost, LightGBM, PyTorch Lightning,
    Transformers (Trainer), LangChain and OpenAI. ``exclude_flavors`` leaves some out; the other
    arguments are passed to each ``labkeep.<flavor>.autolog``.
    """
    options = dict(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        log_traces=log_traces,
        disable=disable,
        exclusive=exclusive,
        disable_for_unsupported_versions=disable_for_unsupported_versions,
        silent=silent,
        extra_tags=extra_tags,
    )
    excluded = set(exclude_flavors or [])
    for integ in INTEGRATIONS.values():
        if integ.name in excluded or not _installed(integ):
            continue
        if disable:
            for name in integ.modules:
                clear_hooks(name)
            if any(m in sys.modules for m in integ.modules):
                _safe_call(integ, options, silent)
            continue

        def hook(_module: Any, integ: Integration = integ) -> None:
            _safe_call(integ, options, silent)

        for name in integ.modules:
            register_post_import_hook(hook, name)


def _safe_call(integ: Integration, options: dict[str, Any], silent: bool) -> None:
    from labkeep.autologging import config

    if not options.get("disable") and config.set_by_user(integ.name):
        return  # an explicit labkeep.<flavor>.autolog(...) call wins over the universal one
    config._origin.universal = True
    try:
        _call_flavor_autolog(integ, options)
    except Exception as e:  # one integration failing leaves the others on
        if not silent:
            _log.warning("labkeep: could not set up %s autologging: %s", integ.name, e)
    finally:
        config._origin.universal = False


def _reset_for_tests() -> None:
    """Undo every integration's patches, hooks and settings."""
    from labkeep.autologging import config, hooks, patching

    autolog(disable=True, silent=True)  # the LLM integrations keep patches of their own

    for flavor in list(patching._patches):
        revert_patches(flavor)
    if "sklearn.metrics" in sys.modules:
        from labkeep.sklearn.post_training import unpatch_metric_functions

        unpatch_metric_functions()
    hooks.clear_hooks()
    config.reset()
