"""Dataset summaries of experiments (``experiments/search-datasets``, what mlflow's UI lists)."""

from __future__ import annotations

from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.stores.lookup import require_sql

MAX_EXPERIMENTS = 20
MAX_SUMMARIES = 1000


def search_datasets(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Distinct (experiment, dataset name, digest, context) used by the experiments' runs."""
    ids = req.get_str_list("experiment_ids")
    if not ids:
        raise InvalidParameterValue("SearchDatasets request must specify at least one experiment_id.")
    if len(ids) > MAX_EXPERIMENTS:
        raise InvalidParameterValue(
            f"SearchDatasets request cannot specify more than {MAX_EXPERIMENTS} experiment_ids. "
            f"Received {len(ids)} experiment_ids."
        )
    numeric = [int(i) for i in ids if i.strip().isdigit()]
    if not numeric:
        return {"dataset_summaries": []}
    marks = ",".join("?" * len(numeric))
    with require_sql(ctx.tracking_store, "search datasets").db.read() as cur:
        rows = cur.execute(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, i.context FROM datasets d"
            " JOIN run_inputs i ON i.dataset_id = d.dataset_id"
            f" WHERE d.experiment_id IN ({marks}) ORDER BY d.experiment_id, d.name, d.digest LIMIT ?",
            (*numeric, MAX_SUMMARIES),
        ).fetchall()
    out = []
    for exp_id, name, digest, context in rows:
        summary = {"experiment_id": str(exp_id), "name": name, "digest": digest}
        if context:
            summary["context"] = context
        out.append(summary)
    return {"dataset_summaries": out}
