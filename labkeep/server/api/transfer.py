"""``POST /api/2.0/labkeep/transfer/apply``: the server side of ``labkeep sync`` and of imports
into a server. Records (see ``labkeep.transfer.records``) are written with their ids kept, through
the same idempotent SQL sink the local imports use. Artifact locations are the server's own; a
record cannot point a run or model anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.stores.lookup import require_sql

if TYPE_CHECKING:
    from labkeep.transfer.sql_sink import SqlSink

KINDS = ("experiment", "run", "logged_model", "registered_model", "trace")


def _sink(ctx: ApiContext) -> SqlSink:
    from labkeep.transfer.sql_sink import SqlSink

    store = require_sql(ctx.tracking_store, "take transferred records")
    return SqlSink(store.store_uri, store=store)


def _record(req: ApiRequest) -> dict[str, Any]:
    rec = req.raw("record")
    if not isinstance(rec, dict):
        raise InvalidParameterValue("Field 'record' must be a JSON object (a transfer record).")
    return rec


def apply_record(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Write one experiment, run, logged model, trace or registered model record; answers its status."""
    from labkeep.transfer.sql_sink import Collision
    from labkeep.transfer.wire import decode_record

    kind = req.get_str("kind", required=True)
    if kind not in KINDS:
        raise InvalidParameterValue(f"Field 'kind' must be one of {', '.join(KINDS)}; got {kind!r}.")
    dry_run = bool(req.get_bool("dry_run", default=False))
    rec = decode_record(kind, _record(req))
    sink = _sink(ctx)
    sink.dry_run = dry_run
    try:
        if kind == "experiment":
            exp_id, location, changed = sink.experiment(rec, keep_location=False)
            return {"experiment_id": exp_id, "artifact_location": location, "changed": changed}
        if kind == "registered_model":
            _confine_versions(ctx, rec)
            return {"status": sink.registered_model(rec, {})}
        exp_id = req.get_str("experiment_id", required=True)
        location = _location(sink, exp_id, dry_run)
        if kind == "trace":
            return {"status": sink.trace(rec, exp_id)}
        if kind == "run":
            uri = f"{location}/{rec['run_id']}/artifacts"
            return {"status": sink.run(rec, exp_id, uri, _model_points(req)), "artifact_uri": uri}
        uri = f"{location}/models/{rec['model_id']}/artifacts"
        return {"status": sink.logged_model(rec, exp_id, uri), "artifact_location": uri}
    except Collision as exc:
        from labkeep.exceptions import ResourceAlreadyExists

        raise ResourceAlreadyExists(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameterValue(f"Malformed {kind} record: {exc!r}") from None


def _location(sink: SqlSink, exp_id: str, dry_run: bool) -> str:
    if dry_run and exp_id == "(new)":
        return ""
    with sink.db.read() as cur:
        row = cur.execute(
            "SELECT artifact_location FROM experiments WHERE experiment_id = ?", (int(exp_id),)
        ).fetchone()
    if row is None:
        raise InvalidParameterValue(
            f"No experiment with id={exp_id} on this server; send the experiment first."
        )
    return cast(str, row[0]).rstrip("/")


def _model_points(req: ApiRequest) -> dict[tuple[Any, int, int], tuple[Any, Any, Any]]:
    """(metric key, timestamp, step) → (model id, dataset name, dataset digest), from JSON lists."""
    raw = req.raw("model_points") or []
    return {(p[0], int(p[1]), int(p[2])): (p[3], p[4], p[5]) for p in raw}


def _confine_versions(ctx: ApiContext, rec: dict[str, Any]) -> None:
    """Model version sources must stay inside the server's artifact storage, as on create."""
    from labkeep.server.api.common import check_uri_confined
    from labkeep.server.api.experiments import _local_roots

    roots = _local_roots(ctx)
    for v in rec.get("versions") or ():
        for field in ("source", "storage_location"):
            if v.get(field):
                try:
                    check_uri_confined(v[field], roots, what=field)
                except InvalidParameterValue as exc:
                    raise InvalidParameterValue(
                        f"Model {rec.get('name')!r} version {v.get('version')}: {exc.message}"
                    ) from None
