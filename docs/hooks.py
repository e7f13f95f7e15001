"""MkDocs hook: fills the generated tables (REST routes, settings) from the code itself.

A page holds a marker such as ``<!-- generated:rest-routes -->``; the table replacing it is built
from ``labkeep.server.api.routes`` at build time, so the reference cannot drift from the server.
"""

from __future__ import annotations

from typing import Any


def rest_routes_table() -> str:
    from labkeep.server.api import routes

    groups = [
        ("/api and /ajax-api", "", routes.ROUTES),
        ("Artifact proxy (/api and /ajax-api)", routes.ARTIFACT_PREFIX, routes.ARTIFACT_ROUTES),
        ("/ajax-api only", "", routes.AJAX_ONLY_ROUTES),
        ("Top level", "", routes.TOP_ROUTES),
    ]
    out = []
    for title, prefix, rows in groups:
        out += [f"### {title}", "", "| method | path | handler |", "| --- | --- | --- |"]
        for route in rows:
            handler = f"`{route.handler.__module__.rsplit('.', 1)[-1]}.{route.handler.__name__}`"
            path = f"`{prefix}{route.path}`".replace("|", "\\|")
            out.append(f"| {', '.join(route.methods)} | {path} | {handler} |")
        out.append("")
    return "\n".join(out)


_GROUPS = {
    "stores": "Stores",
    "runs": "Runs",
    "client": "Talking to a server",
    "s3": "S3 artifacts",
    "server": "Server",
    "serving": "Models and serving",
    "tracing": "Tracing and LLM judges",
    "projects": "Projects",
}


def settings_table() -> str:
    from labkeep import config

    missing = {s.group for s in config.SETTINGS} - set(_GROUPS)
    if missing:
        raise ValueError(f"settings groups without a title in docs/hooks.py: {sorted(missing)}")
    out = []
    for group, title in _GROUPS.items():
        out += [f"### {title}", "", "| variable | default | effect |", "| --- | --- | --- |"]
        for setting in (s for s in config.SETTINGS if s.group == group):
            names = ", ".join(f"`{n}`" for n in setting.names)
            default = f"`{setting.default}`" if setting.default is not None else ""
            effect = setting.doc.replace("|", "\\|")
            out.append(f"| {names} | {default} | {effect} |")
        out.append("")
    return "\n".join(out)


GENERATORS = {"rest-routes": rest_routes_table, "settings": settings_table}


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    for name, generate in GENERATORS.items():
        marker = f"<!-- generated:{name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
