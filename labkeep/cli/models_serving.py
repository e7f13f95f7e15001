"""``labkeep models serve|predict|generate-dockerfile|build-docker`` (added to the ``models`` group)."""

from __future__ import annotations

import functools

import click

from labkeep.exceptions import LabkeepException


def _one_line_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LabkeepException as e:
            raise click.ClickException(e.message)
        except OSError as e:
            raise click.ClickException(str(e))

    return wrapper


_model_uri = click.option(
    "-m",
    "--model-uri",
    required=True,
    help="Model URI: path, runs:/<run>/<path>, models:/<name>/<version|stage>, models:/<name>@<alias>, models:/m-<id>.",
)
_env_manager = click.option(
    "--env-manager",
    type=click.Choice(["local", "uv", "virtualenv", "conda"], case_sensitive=False),
    default=None,
    help="local (default): current environment; uv/virtualenv: build the model's environment from its requirements first.",
)


@click.command("serve")
@_model_uri
@click.option("-h", "--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("-p", "--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("-w", "--workers", default=1, show_default=True, type=int, help="Number of worker processes.")
@click.option("-t", "--timeout", default=None, type=int, help="Request timeout in seconds (default 60).")
@_env_manager
@_one_line_errors
def serve(model_uri, host, port, workers, timeout, env_manager):
    """Serve a model over REST: /ping, /health, /version, /invocations."""
    from labkeep.serving.server import serve as _serve

    _serve(model_uri, host=host, port=port, workers=workers, env_manager=env_manager, timeout=timeout)


@click.command("predict")
@_model_uri
@click.option("-i", "--input-path", default=None, help="CSV or JSON input file (default: stdin).")
@click.option(
    "-o", "--output-path", default=None, help='Where to write {"predictions": ...} (default: stdout).'
)
@click.option("-t", "--content-type", default=None, help="json or csv (default: from the file extension).")
@_env_manager
@_one_line_errors
def predict(model_uri, input_path, output_path, content_type, env_manager):
    """Score a file with a model (batch prediction)."""
    if env_manager not in (None, "local"):
        _predict_in_env(model_uri, input_path, output_path, content_type, env_manager)
        return
    from labkeep.serving.batch import predict_file

    predict_file(model_uri, input_path, output_path, content_type)


def _predict_in_env(model_uri, input_path, output_path, content_type, env_manager):
    import subprocess

    from labkeep.models.uris import download_model_uri
    from labkeep.serving.server import prepare_model_env

    model_dir = download_model_uri(model_uri)
    python = prepare_model_env(model_dir, env_manager.lower())
    code = "import sys; from labkeep.serving.batch import predict_file; predict_file(*[a or None for a in sys.argv[1:5]])"
    argv = [python, "-c", code, model_dir, input_path or "", output_path or "", content_type or ""]
    raise SystemExit(subprocess.call(argv))


@click.command("generate-dockerfile")
@_model_uri
@click.option(
    "-d",
    "--output-directory",
    default="labkeep-dockerfile",
    show_default=True,
    help="Build context to create.",
)
@_one_line_errors
def generate_dockerfile(model_uri, output_directory):
    """Write a Dockerfile (and a copy of the model) that serves the model with labkeep."""
    from labkeep.serving.docker import generate_dockerfile as _generate

    path = _generate(model_uri, output_directory)
    click.echo(f"Wrote {path}")


@click.command("build-docker")
@_model_uri
@click.option("-n", "--name", default="labkeep-pyfunc", show_default=True, help="Image name.")
@_one_line_errors
def build_docker(model_uri, name):
    """Build a Docker image that serves the model (needs a running Docker engine)."""
    from labkeep.serving.docker import build_docker as _build

    _build(model_uri, name)
    click.echo(f"Built image {name}")


SERVING_COMMANDS = [serve, predict, generate_dockerfile, build_docker]
