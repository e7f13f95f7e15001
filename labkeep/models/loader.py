"""Shared steps of every flavor's ``load_model`` and ``_load_pyfunc``.

Reading the flavor's MLmodel entry, putting its ``code`` folder on ``sys.path``, finding the model
directory from the path the pyfunc loader is given, and the plain pyfunc adapter.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.mlmodel import Model, safe_join


def add_code_dir(model_dir: str, code: str | None) -> None:
    """Put the model's copied ``code_paths`` folder first on ``sys.path`` (once)."""
    if code:
        code_dir = safe_join(model_dir, code)
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)


def read_flavor(model_dir: str, flavor: str) -> tuple[dict[str, Any], Model]:
    """The ``flavor`` entry of the MLmodel in ``model_dir`` (and the MLmodel), code folder on sys.path.

    Raises InvalidParameterValue when the model has no such flavor.
    """
    meta = Model.load(model_dir)
    conf = meta.flavors.get(flavor)
    if conf is None:
        raise InvalidParameterValue(
            f"Model at {model_dir} has no {flavor} flavor (flavors: {sorted(meta.flavors)})."
        )
    add_code_dir(model_dir, conf.get("code"))
    return conf, meta


def model_dir_of(path: str) -> str:
    """The model directory of a pyfunc loader's ``path``: the directory itself, or a data file's folder."""
    return os.path.dirname(path) if os.path.isfile(path) else path


class PredictWrapper:
    """pyfunc adapter: ``predict`` calls ``predict_fn`` (the model's own ``predict`` by default)."""

    def __init__(self, model: Any, predict_fn: Callable[[Any], Any] | None = None) -> None:
        self.raw_model = model
        self._predict = predict_fn or model.predict

    def predict(self, data: Any, params: dict | None = None) -> Any:
        return self._predict(data)
