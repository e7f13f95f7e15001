"""``import labkeep`` stays light, and its public surface is pinned."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "sqlalchemy",
    "pandas",
    "starlette",
    "jinja2",
    "boto3",
    "numpy",
    "sklearn",
    "alembic",
    "httpx",
    "yaml",
    "uvicorn",
    "mlflow",
]

PROBE = """
import json, sys
import labkeep
heavy = {heavy!r}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))
print(json.dumps({{"loaded": loaded, "count": len(sys.modules)}}))
"""


def _probe() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_labkeep_loads_no_heavy_dependency():
    result = _probe()
    assert result["loaded"] == [], f"`import labkeep` pulled in {result['loaded']}; import them lazily"


def test_import_labkeep_stays_small():
    # mlflow 3.17 loads about 1,770 modules; labkeep's import is a fraction of that.
    assert _probe()["count"] < 400


# The public names of ``labkeep`` (lazy submodules such as ``labkeep.sklearn`` are attributes,
# not part of ``__all__``). Changing the public surface means changing this list on purpose.
PUBLIC_API = [
    "ActiveRun",
    "Client",
    "LabkeepException",
    "MlflowClient",
    "MlflowException",
    "__version__",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "rename_experiment",
    "restore_experiment",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    # LLM tracking (labkeep/genai)
    "delete_trace_tag",
    "evaluate",
    "flush_trace_async_logging",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "load_prompt",
    "log_expectation",
    "log_feedback",
    "register_prompt",
    "search_traces",
    "set_trace_tag",
    "start_span",
    "trace",
    "update_current_trace",
    "init",
    # autologging (labkeep/autologging)
    "autolog",
]


def test_public_api_is_pinned():
    import labkeep

    assert sorted(labkeep.__all__) == sorted(PUBLIC_API)
    assert len(set(labkeep.__all__)) == len(labkeep.__all__), "duplicate names in labkeep.__all__"


def test_every_public_name_resolves():
    import labkeep

    missing = [name for name in PUBLIC_API if not hasattr(labkeep, name)]
    assert not missing, f"labkeep.__all__ lists names that do not resolve: {missing}"
