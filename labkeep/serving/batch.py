"""Batch scoring: ``labkeep models predict`` over a CSV or JSON file, with progress on big inputs
(a live bar on terminals, one summary line otherwise)."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

from labkeep.exceptions import InvalidParameterValue
from labkeep.utils.progress import progress_bar

CSV_CHUNK_ROWS = 50_000


def _summary(rows: int, started: float, out: TextIO) -> None:
    """One closing line, terminal or not (a live bar is drawn on terminals only)."""
    elapsed = max(time.monotonic() - started, 1e-9)
    out.write(f"scored {rows:,} rows in {elapsed:.1f}s ({rows / elapsed:,.0f} rows/s)\n")
    out.flush()


def _detect_type(input_path: str | None, content_type: str | None) -> str:
    if content_type:
        ct = content_type.lower()
        if ct not in ("json", "csv"):
            raise InvalidParameterValue(f"Unknown content type {content_type!r}: use json or csv.")
        return ct
    if input_path and input_path.lower().endswith(".csv"):
        return "csv"
    return "json"


def predict_file(
    model_uri: str,
    input_path: str | None,
    output_path: str | None,
    content_type: str | None = None,
    progress: TextIO | None = sys.stderr,
) -> int:
    """Score ``input_path`` (stdin when None) and write ``{"predictions": [...]}``; returns row count."""
    from labkeep.pyfunc import load_model
    from labkeep.serving import payloads

    if input_path is not None and not os.path.exists(input_path):
        raise InvalidParameterValue(f"Input file {input_path} does not exist.")
    kind = _detect_type(input_path, content_type)
    model = load_model(model_uri)
    predictions: list[Any] = []
    rows = 0
    if kind == "csv":
        import pandas as pd

        total = os.path.getsize(input_path) if input_path else 0
        started = time.monotonic()
        source = input_path if input_path is not None else sys.stdin
        string_cols = payloads._string_columns(model.input_schema)
        bar = progress_bar("scoring", total or None, enabled=progress is not None, out=progress)
        try:
            reader = pd.read_csv(
                source, chunksize=CSV_CHUNK_ROWS, dtype={c: str for c in string_cols} or None
            )
            handle = getattr(reader, "handles", None)
            done = 0
            for chunk in reader:
                predictions.extend(payloads.to_jsonable(_predict(model, chunk, None)))
                rows += len(chunk)
                try:
                    pos = handle.handle.tell() if handle is not None else done
                except (AttributeError, OSError, ValueError):
                    pos = done
                bar.update(pos - done)
                bar.set_postfix_str(f"{rows:,} rows")
                done = pos
        except (ValueError, pd.errors.ParserError) as e:
            raise InvalidParameterValue(f"Cannot read CSV input {input_path}: {e}")
        finally:
            bar.close()
        if progress is not None and (total > 8 * 1024 * 1024 or rows > CSV_CHUNK_ROWS):
            _summary(rows, started, progress)
    else:
        body = open(input_path, "rb").read() if input_path is not None else sys.stdin.buffer.read()
        data, params = _parse_json_file(body, model.input_schema)
        out = _predict(model, data, params)
        predictions = payloads.to_jsonable(out)
        rows = len(predictions) if isinstance(predictions, list) else 1
    text = json.dumps({"predictions": predictions}, default=payloads._default)
    if output_path:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")
    return rows


def _predict(model: Any, data: Any, params: dict | None) -> Any:
    """Predict; the model's own exceptions become one-line errors (schema errors pass as they are)."""
    from labkeep.exceptions import LabkeepException

    try:
        return model.predict(data, params=params)
    except LabkeepException:
        raise
    except Exception as e:
        raise LabkeepException(
            f"The model failed to predict: {type(e).__name__}: {e}", error_code="BAD_REQUEST"
        )


def _parse_json_file(body: bytes, schema: Any) -> tuple[Any, dict | None]:
    """Accept a scoring-server body, or a bare list of records / columnar dict."""
    from labkeep.serving import payloads

    try:
        obj = json.loads(body)
    except ValueError as e:
        raise InvalidParameterValue(f"Input is not valid JSON: {e}")
    if isinstance(obj, dict) and any(k in obj for k in payloads.INPUT_KEYS):
        return payloads.parse_json_body(body, schema)
    return payloads._instances(obj, schema), None
