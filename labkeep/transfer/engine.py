"""One engine for every move: read records from a source, write them into a sink, copy artifacts.

Order per experiment: the experiment, its logged models' metric links, runs (with their
artifacts), then logged models (with theirs); the registry comes last so versions can point at
the copied artifacts. Every item that fails is recorded in the summary and the rest goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from itertools import islice
from typing import Any

from labkeep.transfer.artifacts import ArtifactCopier
from labkeep.transfer.base import Source
from labkeep.transfer.progress import Progress
from labkeep.transfer.records import Problem, Summary

# Runs written per transaction when the sink takes batches (about 100,000 points of typical runs).
RUN_BATCH = 100


def _selected(exp: dict[str, Any], wanted: Sequence[str] | None) -> bool:
    return not wanted or exp["name"] in wanted or str(exp["experiment_id"]) in wanted


def transfer(
    source: Source,
    sink: Any,
    *,
    experiments: Sequence[str] | None = None,
    keep_artifact_locations: bool = False,
    copy_artifacts: bool = True,
    registry: bool = True,
    progress: Progress | None = None,
) -> Summary:
    """Move everything (or the ``experiments`` named, by name or id) from ``source`` into ``sink``."""
    progress = progress or Progress(enabled=False)
    summary = Summary(dry_run=getattr(sink, "dry_run", False))
    copier = ArtifactCopier(source, getattr(sink, "artifact_server", None))
    prefixes: dict[str, str] = {}
    exps = []
    for item in source.experiments():
        if isinstance(item, Problem):
            summary.problems.append(item)
        elif _selected(item, experiments):
            exps.append(item)
    missing = [w for w in experiments or () if not any(_selected(e, [w]) for e in exps)]
    for name in missing:
        summary.skip("experiment", name, "not found in the source")
    totals = {
        "runs": sum(source.count_runs(e["experiment_id"]) for e in exps),
        "metrics": None,
        "artifacts": None,
    }
    board = progress.board("import", totals)
    try:
        for exp in exps:
            _experiment(
                source, sink, exp, keep_artifact_locations, copy_artifacts, copier, prefixes, summary, board
            )
    finally:
        board.close()
    if registry:
        _registry(source, sink, prefixes, summary, progress)
    return summary


def _experiment(source, sink, exp, keep, copy_artifacts, copier, prefixes, summary, board) -> None:
    label = f"{exp['name']!r} ({exp['experiment_id']})"
    try:
        dest_id, location, changed = sink.experiment(exp, keep)
    except Exception as exc:  # a name or id the destination refuses
        summary.skip("experiment", label, _msg(exc))
        return
    summary.count("experiments", changed=changed)
    location = (location or "").rstrip("/")
    models = []
    model_points: dict[str, dict[tuple, tuple]] = {}
    for item in source.logged_models(exp["experiment_id"]):
        if isinstance(item, Problem):
            summary.problems.append(item)
            continue
        models.append(item)
        for key, _value, ts, step, run_id, ds_name, ds_digest in item["metrics"]:
            model_points.setdefault(run_id, {})[(key, int(ts), int(step))] = (
                item["model_id"],
                ds_name,
                ds_digest,
            )
    dry = summary.dry_run
    batch = getattr(sink, "batch", None) or nullcontext
    runs = iter(source.runs(exp["experiment_id"]))
    while chunk := list(islice(runs, RUN_BATCH)):
        copies = []
        with batch():  # one transaction per chunk of runs where the sink can (each run still whole)
            for item in chunk:
                copy = _run(sink, item, dest_id, location, keep, model_points, prefixes, summary, board)
                if copy is not None:
                    copies.append(copy)
        if copy_artifacts and not keep and not dry:
            for run_id, src_uri, dst_uri in copies:  # after the runs are committed
                try:
                    board.add("artifacts", copier.copy(src_uri, dst_uri))
                except Exception as exc:
                    summary.skip("artifacts", run_id, _msg(exc))
    _traces(source, sink, exp, dest_id, summary)
    for model in models:
        mid = model["model_id"]
        src_loc = model.get("artifact_location") or ""
        dst_loc = src_loc if keep and src_loc else f"{location}/models/{mid}/artifacts"
        try:
            status = sink.logged_model(model, dest_id, dst_loc)
        except Exception as exc:
            summary.skip("logged_model", mid, _msg(exc))
            continue
        summary.count("logged models", changed=status != "unchanged")
        if src_loc:
            prefixes[src_loc] = dst_loc
        if copy_artifacts and not keep and not dry and src_loc:
            try:
                board.add("artifacts", copier.copy(src_loc, dst_loc))
            except Exception as exc:
                summary.skip("artifacts", f"logged model {mid}", _msg(exc))


def _run(sink, item, dest_id, location, keep, model_points, prefixes, summary, board) -> tuple | None:
    """Send one run record; (run id, source artifact URI, destination URI) when it was written."""
    board.add("runs")
    if isinstance(item, Problem):
        summary.problems.append(item)
        return None
    run_id = item["run_id"]
    dst_uri = item["artifact_uri"] if keep and item["artifact_uri"] else f"{location}/{run_id}/artifacts"
    try:
        status = sink.run(item, dest_id, dst_uri, model_points.get(run_id))
    except Exception as exc:
        summary.skip("run", run_id, _msg(exc))
        return None
    summary.count("runs", changed=status != "unchanged")
    summary.count("metric points", len(item["metrics"]), changed=status == "new")
    board.add("metrics", len(item["metrics"]))
    if item["artifact_uri"]:
        prefixes[item["artifact_uri"]] = dst_uri
    return run_id, item["artifact_uri"], dst_uri


def _traces(source, sink, exp, dest_id, summary) -> None:
    if not hasattr(sink, "trace"):
        return
    try:
        items = list(source.traces(exp["experiment_id"]))
    except Exception as exc:
        summary.skip("trace", f"experiment {exp['name']!r}", _msg(exc))
        return
    for item in items:
        if isinstance(item, Problem):
            summary.problems.append(item)
            continue
        try:
            status = sink.trace(item, dest_id)
        except Exception as exc:
            summary.skip("trace", item["trace_id"], _msg(exc))
            continue
        summary.count("traces", changed=status != "unchanged")


def _registry(source, sink, prefixes, summary, progress) -> None:
    board = progress.board("registry", {"models": None, "versions": None})
    try:
        for item in source.registered_models():
            if isinstance(item, Problem):
                summary.problems.append(item)
                continue
            try:
                status = sink.registered_model(item, prefixes)
            except Exception as exc:
                summary.skip("registered_model", item["name"], _msg(exc))
                continue
            summary.count("registered models", changed=status != "unchanged")
            board.add("models")
            board.add("versions", len(item["versions"]))
    finally:
        board.close()


def _msg(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0]
