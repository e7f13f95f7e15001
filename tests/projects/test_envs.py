import json
import os
import stat
import subprocess
import sys
import time

import pytest

from labkeep.projects.env import choose_manager, prepare_environment
from labkeep.projects.env.cache import READY_MARKER
from labkeep.projects.env.conda import translate_conda_yaml
from labkeep.projects.env.docker import (
    CONTAINER_PROJECT_DIR,
    DockerEnvironment,
    engine_problem,
    prepare_docker_env,
)
from labkeep.projects.env.indexes import uv_index_args
from labkeep.projects.env.interpreters import available_interpreters, find_python
from labkeep.projects.errors import ProjectError
from labkeep.projects.spec import load_project

from .helpers import write


def _python_in(env, code):
    return subprocess.run([env.python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def _project(tmp_path, files):
    for name, content in files.items():
        write(tmp_path / name, content)
    return load_project(str(tmp_path))


def test_uv_env_built_then_reused_without_install(tmp_path, fresh_env_cache, capfd):
    project = _project(
        tmp_path,
        {
            "MLproject": "python_env: python_env.yaml\nentry_points:\n  main:\n    command: python -c 1\n",
            "python_env.yaml": "python: '3.11'\nbuild_dependencies: []\ndependencies: [-r requirements.txt]\n",
            "requirements.txt": "six\n",
        },
    )
    assert choose_manager(project, None) == "uv"
    env = prepare_environment(project, "uv")
    err = capfd.readouterr().err
    assert not env.reused and env.prefix.startswith(fresh_env_cache)
    assert "building uv environment" in err and "installing: -r" in err and "environment ready in" in err
    assert os.path.isfile(os.path.join(env.prefix, READY_MARKER))
    assert _python_in(env, "import six, sys; print(sys.version_info[:2])") == "(3, 11)"

    started = time.perf_counter()
    again = prepare_environment(project, "uv")
    elapsed = time.perf_counter() - started
    assert again.reused and again.prefix == env.prefix and elapsed < 0.5
    assert "building" not in capfd.readouterr().err

    # A changed requirements file is a different environment.
    write(tmp_path / "requirements.txt", "six\npyyaml\n")
    third = prepare_environment(project, "uv")
    assert third.prefix != env.prefix and not third.reused


def test_failed_build_shows_installer_error_and_is_never_marked_ready(tmp_path, fresh_env_cache, capfd):
    project = _project(
        tmp_path,
        {"python_env.yaml": "python: '3.11'\ndependencies: [/nonexistent/labkeep-missing-pkg]\n", "t.py": ""},
    )
    with pytest.raises(ProjectError, match="installing requirements with uv failed"):
        prepare_environment(project, "uv")
    assert "nonexistent" in capfd.readouterr().err
    # Nothing half-built is left where the cache would look.
    assert [n for n in os.listdir(fresh_env_cache) if not n.endswith(".lock")] == []


def test_venv_and_pip_fallback_when_uv_is_missing(tmp_path, fresh_env_cache, monkeypatch, capfd):
    monkeypatch.setenv("LABKEEP_UV", "0")
    project = _project(tmp_path, {"python_env.yaml": "python: '3.11'\ndependencies: [six]\n", "t.py": ""})
    env = prepare_environment(project, "virtualenv")
    assert "with venv + pip" in capfd.readouterr().err
    assert env.kind == "virtualenv" and _python_in(env, "import six; print(six.__name__)") == "six"


def test_conda_yaml_translated_into_uv_env_without_conda(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin")
    monkeypatch.delenv("LABKEEP_CONDA_EXE", raising=False)
    project = _project(
        tmp_path,
        {
            "conda.yaml": """
            name: demo
            channels: [conda-forge]
            dependencies:
              - python=3.9
              - pip
              - pyyaml=6
              - libgcc-ng
              - pip:
                - six
            """,
            "t.py": "",
        },
    )
    assert choose_manager(project, None) == "conda"
    env = prepare_environment(project, "conda")
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if "conda is not installed" in line]
    assert len(lines) == 1 and "python 3.9" in lines[0] and "libgcc-ng" in lines[0]
    assert env.kind == "uv" and env.tags["labkeep.project.envTranslatedFrom"] == "conda"
    version = _python_in(env, "import sys, yaml, six; print('%d.%d' % sys.version_info[:2])")
    have_39 = any(i.minor == "3.9" for i in available_interpreters())
    assert version == ("3.9" if have_39 else f"{sys.version_info[0]}.{sys.version_info[1]}")


def test_conda_translation_rules(tmp_path):
    path = write(
        tmp_path / "conda.yaml",
        "dependencies: [python>=3.8, conda-forge::scikit-learn=1.3, pytorch, numpy=1.26.4=py39_0, matplotlib-base, r-base, {pip: [mlflow==3.17.2]}]\n",
    )
    spec, dropped = translate_conda_yaml(path)
    assert spec.python is None
    assert spec.dependencies == [
        "scikit-learn==1.3.*",
        "torch",
        "numpy==1.26.4",
        "matplotlib",
        "mlflow==3.17.2",
    ]
    assert dropped == ["r-base"]


def test_real_conda_path_with_fake_conda_on_path(tmp_path, fresh_env_cache, monkeypatch):
    # No conda can run here (its channels are unreachable), so a FAKE `conda` executable stands in:
    # it records its arguments and creates a prefix whose python is this interpreter.
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    record = tmp_path / "conda-args.json"
    fake = bindir / "conda"
    fake.write_text(
        "#!/bin/sh\n"
        f"{sys.executable} -c \"import json,sys; json.dump(sys.argv[1:], open('{record}', 'w'))\" \"$@\"\n"
        'prefix=""; while [ $# -gt 0 ]; do [ "$1" = "--prefix" ] && prefix="$2"; shift; done\n'
        f'mkdir -p "$prefix/bin" && ln -s {sys.executable} "$prefix/bin/python"\n'
        'echo "fake conda: created $prefix"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    project = _project(
        tmp_path / "proj", {"conda.yaml": "dependencies: [python=3.9, {pip: [six]}]\n", "t.py": ""}
    )
    env = prepare_environment(project, choose_manager(project, None))
    args = json.loads(record.read_text())
    assert args == ["env", "create", "--prefix", env.prefix, "--file", project.env_file]
    assert env.kind == "conda" and env.prefix.startswith(fresh_env_cache)
    assert env.process_env({"PATH": "/bin"})["PATH"].startswith(os.path.join(env.prefix, "bin"))
    record.unlink()
    assert prepare_environment(project, "conda").reused and not record.exists()


def test_docker_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HOST_TOKEN", "s3cret")
    env = DockerEnvironment(
        kind="docker",
        image="python:3.11-slim",
        volumes=["/data:/data"],
        environment=["HOST_TOKEN", ["MODE", "fast"]],
        project_dir=str(tmp_path),
        exe="docker",
    )
    child = {
        "MLFLOW_RUN_ID": "abc",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:5999",
        "HOME": "/root",
        "PATH": "/bin",
    }
    argv = env.command_argv("python train.py --alpha '0.5'", child, str(tmp_path))
    assert argv[:5] == ["docker", "run", "--rm", "-w", CONTAINER_PROJECT_DIR]
    assert ["-v", f"{tmp_path}:{CONTAINER_PROJECT_DIR}"] == argv[5:7]
    assert "--network" in argv and argv[argv.index("--network") + 1] == "host"
    envs = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    assert envs == [
        "MLFLOW_RUN_ID=abc",
        "MLFLOW_TRACKING_URI=http://127.0.0.1:5999",
        "HOST_TOKEN=s3cret",
        "MODE=fast",
    ]
    assert argv[-4:] == ["python:3.11-slim", "sh", "-c", "python train.py --alpha '0.5'"]
    assert ["-v", "/data:/data"] == argv[7:9]


def test_docker_without_engine_is_a_clear_error(tmp_path, monkeypatch):
    # This machine has a docker client but no engine; a missing client is the same error path.
    monkeypatch.setenv("LABKEEP_DOCKER_EXE", str(tmp_path / "no-docker-here"))
    assert "not installed" in engine_problem()
    with pytest.raises(ProjectError, match="no Docker engine is available"):
        prepare_docker_env({"image": "python:3.11"}, str(tmp_path), "demo", build_image=False)
    project = _project(
        tmp_path,
        {"MLproject": "docker_env: {image: 'python:3.11'}\nentry_points:\n  main:\n    command: x\n"},
    )
    with pytest.raises(ProjectError, match="cannot be used"):
        choose_manager(project, "uv")


def test_interpreter_selection(capfd):
    current = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert find_python(current).minor == current
    assert find_python(None).minor == current
    fallback = find_python("2.5")
    assert fallback.minor == current
    err = capfd.readouterr().err
    assert "Python 2.5 is not available" in err and "available:" in err


def test_pip_index_settings_carried_to_uv(tmp_path, monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nfind-links = /opt/wheels-test\nextra-index-url = file:///srv/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    for var in (
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_FIND_LINKS",
        "PIP_FIND_LINKS",
        "PIP_EXTRA_INDEX_URL",
        "PIP_INDEX_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    args = uv_index_args()
    assert "--extra-index-url" in args and args[args.index("--extra-index-url") + 1] == "file:///srv/simple"
    assert args[args.index("--find-links") + 1] == "/opt/wheels-test"
    assert "unsafe-best-match" in args
    monkeypatch.setenv("UV_INDEX_URL", "https://example.invalid/simple")
    assert uv_index_args() == []


def test_labkeep_requirement_replaced_by_running_copy_and_python_raised(tmp_path, capfd):
    from labkeep.projects.env.python_env import (
        PythonSpec,
        _expand,
        add_labkeep_if_imported,
        code_imports_labkeep,
        labkeep_install_args,
    )

    write(tmp_path / "requirements.txt", "six\nlabkeep>=0.1\n")
    spec = PythonSpec(python="3.9", dependencies=["-r requirements.txt"], base_dir=str(tmp_path))
    args, _ = _expand(spec)
    assert args == ["six", *labkeep_install_args()]  # never asks an index for a package named labkeep
    add_labkeep_if_imported(spec, None)
    assert spec.python == "3.10" and "labkeep needs Python >= 3.10" in capfd.readouterr().err

    write(tmp_path / "src/train.py", "import os\nfrom labkeep import log_metric\n")
    write(tmp_path / ".venv/lib/x.py", "import labkeep\n")
    assert code_imports_labkeep(str(tmp_path))
    other = tmp_path / "other"
    write(other / "train.py", "import mlflow  # not labkeep\nx = 'import labkeep'\n")
    write(other / ".venv/lib/x.py", "import labkeep\n")  # hidden folders are not project code
    assert not code_imports_labkeep(str(other))
    plain = PythonSpec(python="3.9", dependencies=["six"], base_dir=str(other))
    add_labkeep_if_imported(plain, str(other))
    assert plain.dependencies == ["six"] and plain.python == "3.9"


def test_concurrent_builds_of_one_environment_build_it_once(tmp_path, fresh_env_cache):
    write(tmp_path / "python_env.yaml", "python: '3.11'\ndependencies: [six]\n")
    write(tmp_path / "t.py", "")
    code = (
        "import json; from labkeep.projects.spec import load_project; "
        "from labkeep.projects.env import prepare_environment; "
        "e = prepare_environment(load_project('.'), 'uv'); print(json.dumps([e.prefix, e.reused]))"
    )
    env = dict(os.environ, LABKEEP_ENV_CACHE=fresh_env_cache)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert results[0][0] == results[1][0]
    assert sorted(r[1] for r in results) == [False, True]  # one built it, the other waited and reused it


def test_quiet_installer_gets_elapsed_time_lines(monkeypatch, capfd):
    from labkeep.projects.env import python_env

    monkeypatch.setattr(python_env, "HEARTBEAT_SECONDS", 0.2)
    python_env._run_step(
        [sys.executable, "-c", "import time; print('resolving'); time.sleep(1.0)"], "installing"
    )
    err = capfd.readouterr().err
    assert "    resolving" in err and "installing: still working (" in err and "s elapsed)" in err
    with pytest.raises(ProjectError, match=r"failed \(exit 2\): error: no such thing"):
        python_env._run_step(
            [sys.executable, "-c", "import sys; print('error: no such thing'); sys.exit(2)"], "installing"
        )


def test_unquoted_python_version_is_read_as_written(tmp_path):
    from labkeep.projects.env.python_env import read_python_env

    write(
        tmp_path / "python_env.yaml",
        "python: 3.10\nbuild_dependencies:\n  - pip\ndependencies:\n  - numpy==1.10\n",
    )
    spec = read_python_env(str(tmp_path / "python_env.yaml"))
    assert spec.python == "3.10" and spec.dependencies == ["numpy==1.10"]
    write(tmp_path / "conda.yaml", "dependencies:\n  - python=3.10\n  - pip:\n    - six\n")
    conda_spec, _ = translate_conda_yaml(str(tmp_path / "conda.yaml"))
    assert conda_spec.python == "3.10" and conda_spec.dependencies == ["six"]
