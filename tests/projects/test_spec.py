import pytest

from labkeep.exceptions import InvalidParameterValue
from labkeep.projects.errors import ProjectError
from labkeep.projects.spec import load_project

from .helpers import write


def _mlproject(tmp_path, text, files=None):
    write(tmp_path / "MLproject", text)
    for name, content in (files or {}).items():
        write(tmp_path / name, content)
    return str(tmp_path)


def test_typical_project_with_str_alias_and_defaults(tmp_path):
    d = _mlproject(
        tmp_path,
        """
        name: demo
        conda_env: conda.yaml
        entry_points:
          main:
            parameters:
              n_samples: {type: int, default: 100}
              noise: {type: float, default: 0.1}
              model_name: {type: str, default: "LinearRegressionDemo"}
              data: path
            command: "python train.py {n_samples} {noise} {model_name} {data}"
        """,
        {"conda.yaml": "dependencies: [python=3.9, {pip: [six]}]\n"},
    )
    project = load_project(d)
    assert project.name == "demo" and project.env_type == "conda"
    params = project.entry_points["main"].parameters
    assert params["model_name"].type == "string"
    assert params["n_samples"].default == 100 and not params["n_samples"].required
    assert params["data"].type == "path" and params["data"].required


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("python_env: p.yaml\nconda_env: c.yaml\n", "2 environments"),
        (
            "entry_points:\n  main:\n    parameters: {a: {type: bogus}}\n    command: x {a}\n",
            "unknown type 'bogus'",
        ),
        (
            "entry_points:\n  main:\n    parameters: {a: {type: int, default: abc}}\n    command: x {a}\n",
            "does not fit type int",
        ),
        (
            "entry_points:\n  main:\n    parameters: {a: {type: float, default: 1.5x}}\n    command: x {a}\n",
            "does not fit type float",
        ),
        (
            "entry_points:\n  main:\n    parameters: {a: {type: uri, default: notauri}}\n    command: x {a}\n",
            "does not fit type uri",
        ),
        ("entry_points:\n  main:\n    parameters: {a: int}\n    command: python t.py {a} {b}\n", "{b}"),
        ("entry_points:\n  main:\n    command: python t.py {}\n", "positional"),
        ("entry_points:\n  main:\n    parameters: {}\n", "needs a 'command'"),
        ("conda_env: missing.yaml\n", "does not exist"),
        ("docker_env: {volumes: [a]}\n", "'image'"),
        ("- just\n- a list\n", "YAML mapping"),
        ("entry_points: [a, b]\n", "'entry_points' must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_mlproject_files_fail_clearly(tmp_path, text, fragment):
    write(tmp_path / "p.yaml", "python: '3.11'\n")
    write(tmp_path / "c.yaml", "dependencies: [python=3.11]\n")
    write(tmp_path / "MLproject", text)
    with pytest.raises(ProjectError) as info:
        load_project(str(tmp_path))
    assert fragment in str(info.value)


def test_unknown_keys_warn_but_load(tmp_path, capsys):
    d = _mlproject(
        tmp_path,
        """
        name: demo
        flavour: vanilla
        entry_points:
          main:
            parameters: {a: {type: int, default: 1, help: "x"}}
            command: python t.py {a}
            cpu: 4
        """,
    )
    project = load_project(d)
    assert project.entry_points["main"].parameters["a"].default == 1
    assert len(project.warnings) == 3
    err = capsys.readouterr().err
    assert "unknown key 'flavour'" in err and "'cpu'" in err and "'help'" in err


@pytest.mark.parametrize(
    "content, kind",
    [
        ("name: x\nchannels: [conda-forge]\ndependencies: [python=3.9, pip, {pip: [six]}]\n", "conda"),
        ("python: '3.11'\nbuild_dependencies: [pip]\ndependencies: [six]\n", "python_env"),
    ],
)
def test_environment_key_decides_by_content(tmp_path, content, kind):
    d = _mlproject(tmp_path, "environment: env.yaml\n", {"env.yaml": content})
    assert load_project(d).env_type == kind


def test_env_files_found_without_mlproject(tmp_path):
    write(tmp_path / "conda.yaml", "dependencies: [python=3.9]\n")
    write(tmp_path / "train.py", "print(1)\n")
    project = load_project(str(tmp_path))
    assert project.env_type == "conda" and project.entry_points == {}
    assert project.get_entry_point("train.py").command == "python train.py"
    with pytest.raises(ProjectError, match="not declared"):
        project.get_entry_point("nope")


def test_mlproject_name_matched_case_insensitively(tmp_path):
    write(tmp_path / "mlproject", "entry_points:\n  go:\n    command: echo hi\n")
    assert list(load_project(str(tmp_path)).entry_points) == ["go"]


def test_invalid_parameter_value_is_labkeep_exception():
    assert issubclass(InvalidParameterValue, Exception)
    assert ProjectError("x").error_code == "INVALID_PARAMETER_VALUE"
