"""Projects: run an MLproject (local folder or git URL) in a reproducible environment as a recorded run.

``labkeep.projects.run(".", parameters={"alpha": 0.5}, experiment_name="demo")`` validates the
MLproject, records a run, builds or reuses the environment (uv, virtualenv, conda, docker or the
current interpreter), runs the entry point with the run's id in its environment and closes the
run FINISHED, FAILED or KILLED.

Behaviour worth knowing:

- Tracking inside the command: ``LABKEEP_TRACKING_URI`` is the run's store itself (a labkeep
  child writes straight into it). When the store is a database (sqlite/postgresql/mysql) and the
  environment contains the real ``mlflow`` package (docker environments: always), a labkeep
  server is started on a free loopback port for the length of the run and the child gets
  ``MLFLOW_TRACKING_URI=http://127.0.0.1:PORT``; without mlflow in the environment no server is
  started and ``MLFLOW_TRACKING_URI`` is not set, so the real mlflow never sees a database file.
  An ``http(s)://`` tracking URI is passed through in both variables.
  ``LABKEEP_PROJECT_SERVER=always|never`` overrides the choice; ``LABKEEP_PROJECT_SERVER_MODE=process``
  runs ``labkeep server`` as a subprocess instead of a thread of the runner.
- Python versions: an exact match is used, else the newest patch of the same minor version, else
  (no such minor version on this machine, pyenv's versions included) the current interpreter
  with a warning listing the versions available. An environment whose code imports labkeep gets
  the running labkeep installed, and a Python pin older than labkeep supports is raised with a
  warning.
- conda.yaml without conda/mamba/micromamba: translated into a uv environment (python pin, pip
  list, conda names mapped to pip names), announced in one line.
- Environments are cached under ``LABKEEP_ENV_CACHE`` (default ``~/.cache/labkeep/envs``) by a hash
  of their specification and Python version; a build that fails leaves nothing marked ready.
- The command's output is streamed and saved as the run artifact ``project_output.txt``; a
  non-zero exit is recorded in the tag ``labkeep.project.exitCode``.
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
    docker_args: dict[str, Any] | None = None,
    storage_dir: str | None = None,
    backend_config: dict[str, Any] | str | None = None,
    **unsupported: Any,
) -> SubmittedRun:
    """Run the project at ``uri`` and return a :class:`SubmittedRun`.

    ``uri`` is a folder, a git repository or a git URL (``#subdir`` selects a folder in it;
    ``version`` a commit, branch or tag). ``env_manager`` is ``local``, ``uv``, ``virtualenv``,
    ``conda`` or ``docker`` (default: what the project declares). With ``synchronous=True`` the
    call returns when the command has ended; a failed command raises :class:`ExecutionException`.
    ``backend`` is ``local``, ``ray`` or ``kubernetes``; ``backend_config`` is a dict, a JSON
    string or the path of a JSON/YAML file with that backend's keys (mlflow's for kubernetes:
    ``kube-context``, ``repository-uri``, ``kube-job-template-path``).
    """
    from labkeep.projects.output import say
    from labkeep.projects.runner import run_project

    ignored = sorted(k for k, v in unsupported.items() if v not in (None, {}, [], ()))
    if ignored:
        say(f"warning: ignoring options labkeep does not support: {', '.join(ignored)}")
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
        docker_args=docker_args,
        storage_dir=storage_dir,
        backend_config=backend_config,
    )
    if synchronous and submitted.get_status() != "FINISHED":
        raise ExecutionException(
            f"Run {submitted.run_id} ended {submitted.get_status()} (exit code {submitted.exit_code})."
        )
    return submitted


__all__ = ["ExecutionException", "ProjectError", "SubmittedRun", "run"]
