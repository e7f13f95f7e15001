"""Serializers for the typed artifact loggers: dicts, figures, images and tables."""

from __future__ import annotations

import io
import json
from typing import Any

from labkeep.exceptions import InvalidParameterValue


def dump_dict(dictionary: Any, artifact_file: str) -> bytes:
    """JSON, or YAML when the file name ends in .yaml/.yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False).encode("utf-8")
    return json.dumps(dictionary, indent=2, default=str).encode("utf-8")


def figure_bytes(figure: Any, artifact_file: str, save_kwargs: dict | None = None) -> bytes:
    """A matplotlib or plotly figure rendered in the format the file name asks for."""
    module = type(figure).__module__
    ext = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else ""
    if module.startswith("matplotlib"):
        buf = io.BytesIO()
        figure.savefig(buf, format=ext or "png", **(save_kwargs or {}))
        return buf.getvalue()
    if module.startswith("plotly"):
        if ext in ("html", "htm"):
            return figure.to_html(include_plotlyjs="cdn", **(save_kwargs or {})).encode("utf-8")
        return figure.to_image(format=ext or "png", **(save_kwargs or {}))
    raise InvalidParameterValue(
        f"Unsupported figure type {type(figure).__name__}: log_figure accepts matplotlib and plotly figures."
    )


def image_png_bytes(image: Any, artifact_file: str) -> bytes:
    """PNG (or the file's format) bytes of a numpy array or PIL image."""
    try:
        from PIL import Image
    except ImportError:
        raise InvalidParameterValue("log_image needs Pillow: pip install pillow") from None
    if not isinstance(image, Image.Image):
        import numpy as np

        arr = np.asarray(image)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise InvalidParameterValue(
                f"Invalid image shape {arr.shape}: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."
            )
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.dtype.kind == "f":
            if arr.size and (arr.min() < 0 or arr.max() > 1):
                raise InvalidParameterValue("Float images must have values in [0, 1].")
            arr = (arr * 255).round().astype("uint8")
        elif arr.dtype.kind in "iub":
            if arr.size and (arr.min() < 0 or arr.max() > 255):
                raise InvalidParameterValue("Integer images must have values in [0, 255].")
            arr = arr.astype("uint8")
        else:
            raise InvalidParameterValue(f"Unsupported image dtype {arr.dtype}.")
        image = Image.fromarray(arr)
    ext = artifact_file.rsplit(".", 1)[-1].lower()
    fmt = {"jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "bmp": "BMP", "webp": "WEBP"}.get(ext, "PNG")
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def table_json_bytes(data: Any) -> bytes:
    """A table as pandas' split JSON: ``{"columns": [...], "data": [[...], ...]}``."""
    import pandas as pd

    if isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError as exc:
            raise InvalidParameterValue(f"log_table: the dict cannot form a table ({exc}).") from None
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InvalidParameterValue("log_table accepts a dict of columns or a pandas DataFrame.")
    return frame.to_json(orient="split", index=False, default_handler=str).encode("utf-8")
