"""Artifacts of a run for the UI: listing, raw bytes (inline, sandboxed) and previews.

Bytes are read through the server's artifact resolution (``server.api.artifacts.resolve_uri``),
which confines every path below the run's artifact root. Raw responses carry a CSP ``sandbox``
header and ``nosniff``, so an HTML or SVG artifact opened directly cannot run scripts with the
UI's origin; HTML previews are additionally shown in an ``<iframe sandbox>``.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import os
import posixpath
import re
from typing import Any

from starlette.responses import Response, StreamingResponse

from labkeep.artifacts.paths import safe_request_path as safe_relative_path
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.server.api.artifacts import _join, list_under_uri, resolve_uri

PREVIEW_BYTES = 256 * 1024
TABLE_ROWS = 500
TEXT_EXT = {
    ".txt", ".log", ".md", ".py", ".json", ".yaml", ".yml", ".ini", ".cfg", ".toml", ".sh",
    ".sql", ".r", ".js", ".css", ".xml", ".jsonl", ".out", ".err",
}  # fmt: skip
IMAGE_EXT = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
             ".svg": "image/svg+xml", ".webp": "image/webp", ".bmp": "image/bmp"}  # fmt: skip
RAW_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _store(ctx: Any, root_uri: str, path: str) -> tuple[Any, str]:
    rel = safe_relative_path(path or "", "artifact path")
    store, prefix = resolve_uri(ctx, root_uri)
    return store, _join(prefix, rel)


def list_artifacts(ctx: Any, root_uri: str, path: str) -> list[dict[str, Any]]:
    """Children of ``path`` below an artifact root (a run's or a logged model's); [] when absent."""
    try:
        return list_under_uri(ctx, root_uri, path or "")
    except ResourceDoesNotExist:
        return []


def read_head(ctx: Any, root_uri: str, path: str, limit: int = PREVIEW_BYTES) -> tuple[bytes, int]:
    """(first ``limit`` bytes, total size) of one artifact file below ``root_uri``."""
    store, rel = _store(ctx, root_uri, path)
    if store.kind(rel) != "file":
        raise ResourceDoesNotExist(f"Artifact {path!r} is not a file.")
    size = int(store.size(rel))
    buf = bytearray()
    for chunk in store.iter_bytes(rel):
        buf += chunk
        if len(buf) >= limit:
            break
    return bytes(buf[:limit]), size


def raw_response(ctx: Any, root_uri: str, path: str, download: bool) -> Response:
    store, rel = _store(ctx, root_uri, path)
    if store.kind(rel) != "file":
        raise ResourceDoesNotExist(f"Artifact {path!r} is not a file here.")
    name = posixpath.basename(rel)
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXT:
        media = IMAGE_EXT[ext]
    elif ext in (".html", ".htm"):
        media = "text/html; charset=utf-8"
    elif ext in TEXT_EXT or ext in (".csv", ".tsv") or name == "MLmodel":
        media = "text/plain; charset=utf-8"
    else:
        media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    safe_name = re.sub(r'["\\\r\n]', "_", name)
    headers = {
        "Content-Security-Policy": RAW_CSP,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{safe_name}"',
        "Content-Length": str(store.size(rel)),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(store.iter_bytes(rel), media_type=media, headers=headers)


# ---------------------------------------------------------------- previews


def _decode(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(data) - 4:  # cut in the middle of a character at the preview limit
            return data[: exc.start].decode("utf-8")
        return None


_TOKEN_RES = {
    "json": re.compile(
        r'(?P<str>"(?:[^"\\]|\\.)*")(?P<key>\s*:)?|(?P<num>-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)'
        r"|(?P<kw>\b(?:true|false|null)\b)"
    ),
    "yaml": re.compile(
        r"(?P<com>#[^\n]*)|^(?P<ykey>\s*-?\s*[\w.\-/]+)(?=\s*:)|(?P<str>'[^'\n]*'|\"[^\"\n]*\")"
        r"|(?P<num>\b-?\d+(?:\.\d+)?\b)|(?P<kw>\b(?:true|false|null|True|False)\b)",
        re.M,
    ),
    "py": re.compile(
        r"(?P<com>#[^\n]*)|(?P<str>'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\n]*'|\"[^\"\n]*\")"
        r"|(?P<kw>\b(?:def|class|import|from|return|if|elif|else|for|while|in|and|or|not|with|as|try|except"
        r"|finally|raise|None|True|False|lambda|yield|pass|break|continue|async|await)\b)"
        r"|(?P<num>\b\d+(?:\.\d+)?\b)"
    ),
}


def highlight(text: str, lang: str) -> list[tuple[str, str]]:
    """(css class or '', text) tokens; the template escapes every piece."""
    pattern = _TOKEN_RES.get(lang)
    if pattern is None:
        return [("", text)]
    out: list[tuple[str, str]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append(("", text[pos : m.start()]))
        kind = m.lastgroup or ""
        if kind == "key" or (lang == "json" and m.group("key")):
            out.append(("k", m.group("str")))
            out.append(("", m.group("key")))
        else:
            out.append(
                ({"str": "s", "num": "n", "kw": "w", "com": "c", "ykey": "k"}.get(kind, ""), m.group(0))
            )
        pos = m.end()
    if pos < len(text):
        out.append(("", text[pos:]))
    return out


def _lang(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    if name == "MLmodel" or ext in (".yaml", ".yml"):
        return "yaml"
    if ext in (".json", ".jsonl"):
        return "json"
    if ext == ".py":
        return "py"
    return ""


def _table_from_json(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("columns"), list) and isinstance(obj.get("data"), list):
        cols = [str(c) for c in obj["columns"]]
        rows = [[_cell(x) for x in row] for row in obj["data"][:TABLE_ROWS] if isinstance(row, list)]
        return {"columns": cols, "rows": rows, "total": len(obj["data"])}
    return None


def _cell(x: Any) -> Any:
    if isinstance(x, int | float) and not isinstance(x, bool):
        return x
    return x if isinstance(x, str) else json.dumps(x)


def _table_from_csv(text: str, delimiter: str) -> dict[str, Any]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[Any]] = []
    header: list[str] = []
    for i, row in enumerate(reader):
        if i == 0:
            header = row
            continue
        if len(rows) >= TABLE_ROWS:
            break
        rows.append([_num(c) for c in row])
    return {"columns": header, "rows": rows, "total": None}


def _num(s: str) -> Any:
    try:
        return int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            return s


def model_summary(ctx: Any, root_uri: str, folder: str) -> dict[str, Any] | None:
    """Flavors, signature and input example of a model folder (one holding an ``MLmodel`` file)
    at ``folder`` below the artifact root ``root_uri``; None when there is no MLmodel."""
    import yaml

    path = _join(folder, "MLmodel")
    try:
        data, _ = read_head(ctx, root_uri, path)
    except ResourceDoesNotExist:
        return None
    try:
        mlmodel = yaml.safe_load(data.decode("utf-8", "replace")) or {}
    except yaml.YAMLError as exc:
        return {"error": f"MLmodel is not valid YAML: {exc}", "flavors": [], "signature": None}
    if not isinstance(mlmodel, dict):
        return {"error": "MLmodel is not a mapping.", "flavors": [], "signature": None}
    flavors = []
    for name, conf in (mlmodel.get("flavors") or {}).items():
        details = {k: v for k, v in (conf or {}).items() if isinstance(v, str | int | float)}
        flavors.append({"name": str(name), "details": {str(k): str(v) for k, v in details.items()}})
    signature = None
    sig = mlmodel.get("signature")
    if isinstance(sig, dict):
        signature = {}
        for part in ("inputs", "outputs", "params"):
            raw = sig.get(part)
            if raw is None:
                continue
            try:
                items = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                items = [{"name": str(raw)}]
            signature[part] = [
                {
                    "name": str(i.get("name", "")),
                    "type": str(i.get("type", "")),
                    "detail": json.dumps({k: v for k, v in i.items() if k not in ("name", "type")})
                    if isinstance(i, dict)
                    else "",
                }
                if isinstance(i, dict)
                else {"name": str(i), "type": "", "detail": ""}
                for i in (items if isinstance(items, list) else [items])
            ]
    example = None
    info = mlmodel.get("saved_input_example_info")
    if isinstance(info, dict) and isinstance(info.get("artifact_path"), str):
        try:
            raw, size = read_head(ctx, root_uri, _join(folder, info["artifact_path"]), 16 * 1024)
            example = {"path": info["artifact_path"], "text": raw.decode("utf-8", "replace"), "size": size}
        except (ResourceDoesNotExist, InvalidParameterValue):
            example = None
    return {
        "folder": folder,
        "flavors": flavors,
        "signature": signature,
        "input_example": example,
        "model_uuid": str(mlmodel.get("model_uuid", "")),
        "run_id": str(mlmodel.get("run_id", "")),
        "utc_time_created": str(mlmodel.get("utc_time_created", "")),
        "error": None,
    }


def preview(ctx: Any, root: str, path: str, owner: str = "") -> dict[str, Any]:
    """What the preview pane shows for ``path`` below the artifact root ``root``: kind plus the
    data for that kind. ``owner`` names the run or model in error messages."""
    path = safe_relative_path(path or "", "artifact path")
    store, rel = _store(ctx, root, path)
    kind = store.kind(rel)
    name = posixpath.basename(path)
    if kind is None:
        raise ResourceDoesNotExist(f"Artifact {path!r} does not exist in {owner or root}.")
    if kind == "dir":
        summary = model_summary(ctx, root, path)
        files = list_artifacts(ctx, root, path)
        return {
            "kind": "model" if summary else "dir",
            "path": path,
            "name": name,
            "model": summary,
            "files": files,
        }
    ext = os.path.splitext(name)[1].lower()
    base = {"path": path, "name": name, "size": int(store.size(rel))}
    if ext in IMAGE_EXT:
        return {**base, "kind": "image"}
    if ext in (".html", ".htm"):
        return {**base, "kind": "html"}
    data, size = read_head(ctx, root, path)
    text = _decode(data)
    if text is None:
        return {**base, "kind": "binary"}
    truncated = size > len(data)
    if ext in (".csv", ".tsv"):
        return {**base, "kind": "table", "table": _table_from_csv(text, "\t" if ext == ".tsv" else ","),
                "truncated": truncated}  # fmt: skip
    if ext == ".json" and not truncated:
        table = _table_from_json(text)
        if table is not None:
            return {**base, "kind": "table", "table": table, "truncated": False}
    lang = _lang(name)
    return {**base, "kind": "text", "lang": lang, "tokens": highlight(text, lang), "truncated": truncated}
