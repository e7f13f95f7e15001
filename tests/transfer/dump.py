"""Reads a store back with mlflow (``python dump.py mlflow URI``) or labkeep (``... labkeep URI``)
and prints a canonical JSON of everything the transfer must carry; the tests compare the two."""

import json
import math
import sys

which, uri = sys.argv[1], sys.argv[2]
if which == "mlflow":
    import mlflow
    from mlflow import MlflowClient as Client
    from mlflow.entities import ViewType
else:
    import labkeep as mlflow
    from labkeep import Client
    from labkeep.entities import ViewType

mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
c = Client()


def val(x):
    return repr(x) if isinstance(x, float) and not math.isfinite(x) else x


def artifacts(run_id, path=None):
    out = []
    for f in c.list_artifacts(run_id, path):
        out += artifacts(run_id, f.path) if f.is_dir else [[f.path, f.file_size]]
    return out


exps = c.search_experiments(view_type=ViewType.ALL)
out = {"experiments": {}, "runs": {}, "registered_models": {}, "logged_models": {}, "traces": {}}
for e in sorted(exps, key=lambda e: e.name):
    out["experiments"][e.name] = {"stage": e.lifecycle_stage, "tags": {k: v for k, v in e.tags.items()}}
    for r in c.search_runs([e.experiment_id], run_view_type=ViewType.ALL):
        i, d = r.info, r.data
        hist = {
            # distinct points: mlflow's file store keeps a point twice when log_model links the run's
            # metrics to the model; labkeep (like mlflow's SQL store) stores an identical point once
            k: sorted(
                map(list, {(m.step, m.timestamp, val(m.value)) for m in c.get_metric_history(i.run_id, k)})
            )
            for k in d.metrics
        }
        out["runs"][i.run_id] = {
            "experiment": e.name,
            "name": i.run_name,
            "status": i.status,
            "start": i.start_time,
            "end": i.end_time,
            "stage": i.lifecycle_stage,
            "user": i.user_id,
            "params": d.params,
            "tags": d.tags,
            "latest": {k: val(v) for k, v in d.metrics.items()},
            "history": hist,
            "inputs": sorted(
                [
                    di.dataset.name,
                    di.dataset.digest,
                    di.dataset.source_type,
                    di.dataset.schema,
                    di.dataset.profile,
                    sorted([t.key, t.value] for t in di.tags),
                ]
                for di in (r.inputs.dataset_inputs if r.inputs else [])
            ),
            "artifacts": sorted(artifacts(i.run_id)) if i.lifecycle_stage == "active" else None,
        }
    for t in mlflow.search_traces(experiment_ids=[e.experiment_id], return_type="list"):
        out["traces"][t.info.trace_id] = {
            "experiment": e.name,
            "state": str(t.info.state).rsplit(".", 1)[-1],
            "request_time": t.info.request_time,
            "tags": {k: v for k, v in t.info.tags.items() if k != "mlflow.artifactLocation"},
            "spans": sorted(
                [s.name, s.parent_id is None, s.inputs if s.parent_id is None else None] for s in t.data.spans
            ),
        }
    for m in c.search_logged_models(experiment_ids=[e.experiment_id]):
        out["logged_models"][m.model_id] = {
            "name": m.name,
            "run": m.source_run_id,
            "params": m.params,
            "tags": m.tags,
            "status": str(m.status).replace("LOGGED_MODEL_", ""),
        }
for rm in c.search_registered_models():
    versions = c.search_model_versions(f"name='{rm.name}'")
    out["registered_models"][rm.name] = {
        "description": rm.description,
        "tags": rm.tags,
        "aliases": {
            a: str(v)
            for a, v in (
                rm.aliases.items()
                if isinstance(rm.aliases, dict)
                else [(x.alias, x.version) for x in rm.aliases]
            )
        },
        "versions": {
            str(v.version): {"stage": v.current_stage, "run": v.run_id, "status": v.status, "tags": v.tags}
            for v in versions
        },
    }
print(json.dumps(out, sort_keys=True, default=str))
