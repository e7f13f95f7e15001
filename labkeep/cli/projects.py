"""``labkeep run``: run an MLproject as a recorded run."""

from __future__ import annotations

import sys

import click


@click.command("run")
@click.argument("uri")
@click.option(
    "--entry-point", "-e", default="main", show_default=True, help="Entry point to run (or a .py/.sh file)."
)
@click.option("--version", "-v", "version", default=None, help="Git commit, branch or tag to run.")
@click.option(
    "--param-list", "-P", "params", multiple=True, metavar="KEY=VALUE", help="A parameter (repeatable)."
)
@click.option("--experiment-name", default=None, help="Experiment to record the run in (created if missing).")
@click.option("--experiment-id", default=None, help="Experiment id to record the run in.")
@click.option("--run-name", default=None, help="Name of the run.")
@click.option(
    "--env-manager",
    type=click.Choice(["local", "uv", "virtualenv", "conda", "docker"], case_sensitive=False),
    default=None,
    help="Environment manager (default: what the project declares; conda.yaml without conda -> uv).",
)
@click.option("--build-image", is_flag=True, help="docker_env: build an image with the project copied in.")
@click.option(
    "--docker-args",
    "-A",
    "docker_args",
    multiple=True,
    metavar="NAME[=VALUE]",
    help="Extra `docker run` flag for docker_env projects, e.g. -A gpus=all -A privileged (repeatable).",
)
@click.option(
    "--storage-dir", default=None, help="Where `path` parameters given as remote URIs are downloaded."
)
@click.option(
    "--backend",
    "-b",
    type=click.Choice(["local", "ray", "kubernetes"], case_sensitive=False),
    default="local",
    show_default=True,
    help="Where to run: this machine, a Ray cluster (a Ray job) or Kubernetes (a Job).",
)
@click.option(
    "--backend-config",
    "-c",
    default=None,
    metavar="JSON|FILE",
    help='Backend settings as a JSON object or a JSON/YAML file, e.g. \'{"address": "http://HEAD:8265"}\'.',
)
@click.option(
    "--dry-run", is_flag=True, help="Print what would be submitted (manifests, job) and exit; nothing is recorded."
)
@click.option("--no-wait", is_flag=True, help="Start the run in the background and print its id.")
@click.option(
    "--tracking-uri", default=None, help="Tracking store or server (default: LABKEEP_/MLFLOW_TRACKING_URI)."
)
def run(**opts) -> None:
    """Run the project at URI (folder, git repository, or git URL with optional #subdir).

    Exits with the command's exit code.
    """
    from labkeep.exceptions import LabkeepException
    from labkeep.projects.params import parse_param_args
    from labkeep.projects.runner import render_project, run_detached, run_project

    try:
        kwargs = dict(
            uri=opts["uri"],
            entry_point=opts["entry_point"],
            parameters=parse_param_args(opts["params"]),
            experiment_name=opts["experiment_name"],
            experiment_id=opts["experiment_id"],
            env_manager=opts["env_manager"],
            version=opts["version"],
            run_name=opts["run_name"],
            tracking_uri=opts["tracking_uri"],
            build_image=opts["build_image"],
            backend=opts["backend"].lower(),
            backend_config=opts["backend_config"],
            docker_args={
                k: (v if sep else True) for k, sep, v in (a.partition("=") for a in opts["docker_args"])
            },
            storage_dir=opts["storage_dir"],
        )
        if opts["dry_run"]:
            click.echo(render_project(**kwargs))
            return
        if opts["no_wait"]:
            click.echo(run_detached(**kwargs))
            return
        submitted = run_project(**kwargs)
    except LabkeepException as exc:
        raise click.ClickException(exc.message)
    except KeyboardInterrupt:
        click.echo(
            "labkeep: interrupted before the command started (a recorded run is marked KILLED)", err=True
        )
        sys.exit(130)
    status = submitted.get_status()
    click.echo(f"labkeep: run {submitted.run_id} {status} (exit code {submitted.exit_code})", err=True)
    sys.exit(submitted.exit_code or (0 if status == "FINISHED" else 1))
