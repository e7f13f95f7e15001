"""Projects: run an MLproject (local folder or git URL) in a reproducible environment as a recorded run.

``labkeep.projects.run(".", parameters={"alpha": 0.5}, experiment_name="demo")`` validates the
MLproject, records a run, builds or reuses the environment (uv, virtualenv, conda, docker or the
current interpreter), runs the entry point with the run's id in its environment and closes the
run FINISHED, FAILED or KILLED.
"""

from __future__ import annotations

from typing import Any

from labkeep.projects.errors import ExecutionException, ProjectError
from labkeep.projects.runner import SubmittedRun


def run(
    uri: str,
    entry_point: str = "main",
    parameters: dict[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    version: str | None = None,
    run_name: str | None = None,
    backend: str = "local",
    build_image: bool = False,
    tracking_uri: str | None = None,
    **_ignored: Any,
) -> SubmittedRun:
    """Run the project at ``uri`` and return a :class:`SubmittedRun`.

    ``uri`` is a folder, a git repository or a git URL (``#subdir`` selects a folder in it;
    ``version`` a commit, branch or tag). ``env_manager`` is ``local``, ``uv``, ``virtualenv``,
    ``conda`` or ``docker`` (default: what the project declares). With ``synchronous=True`` the
    call returns when the command has ended; a failed command raises :class:`ExecutionException`.
    """
    from labkeep.projects.runner import run_project

    submitted = run_project(
        uri,
        entry_point=entry_point,
        parameters=parameters,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        env_manager=env_manager,
        synchronous=synchronous,
        version=version,
        run_name=run_name,
        tracking_uri=tracking_uri,
        build_image=build_image,
        backend=backend,
    )
    if synchronous and submitted.get_status() != "FINISHED":
        raise ExecutionException(
            f"Run {submitted.run_id} ended {submitted.get_status()} (exit code {submitted.exit_code})."
        )
    return submitted


__all__ = ["ExecutionException", "ProjectError", "SubmittedRun", "run"]
