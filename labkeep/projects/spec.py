"""MLproject files: load, validate and describe a project before anything runs.

Everything that can be checked from the files alone is checked here, so a bad project fails in
milliseconds with a message naming the key to fix, never half-way through an environment build.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from typing import Any

import yaml

from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say

PARAM_TYPES = ("string", "float", "int", "path", "uri")
# Spellings users write for the same types.
TYPE_ALIASES = {"str": "string", "integer": "int", "double": "float", "number": "float"}

ENV_KEYS = ("python_env", "conda_env", "docker_env", "environment")
KNOWN_KEYS = {"name", "entry_points", "databricks_spark_job", *ENV_KEYS}
ENTRY_POINT_KEYS = {"parameters", "command"}
PARAM_KEYS = {"type", "default", "description"}

PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"


@dataclass(frozen=True)
class Parameter:
    """A declared entry-point parameter; ``required`` when it has no default."""

    name: str
    type: str = "string"
    default: Any = None
    has_default: bool = False

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class EntryPoint:
    """A named command template and the parameters it accepts."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)


@dataclass
class Project:
    """A validated project directory.

    ``env_type`` is ``"python_env"``, ``"conda"``, ``"docker"`` or ``None`` (no environment
    declared and none found: the current interpreter). ``env_file`` is the absolute path of the
    python_env.yaml / conda.yaml, when there is one.
    """

    directory: str
    name: str | None = None
    env_type: str | None = None
    env_file: str | None = None
    docker_env: dict[str, Any] | None = None
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get_entry_point(self, name: str) -> EntryPoint:
        """The declared entry point ``name``, or one made up for a ``.py``/``.sh``/``.R`` file."""
        if name in self.entry_points:
            return self.entry_points[name]
        command = _script_command(self.directory, name)
        if command is None:
            declared = ", ".join(sorted(self.entry_points)) or "none"
            raise ProjectError(
                f"Entry point {name!r} is not declared in the MLproject (declared: {declared}) and is not "
                f"a .py, .sh or .R file in {self.directory}."
            )
        return EntryPoint(name=name, command=command)


def find_mlproject(directory: str) -> str | None:
    """The project's MLproject file (name matched case-insensitively), if any."""
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ProjectError(f"Cannot read project directory {directory}: {exc.strerror}")
    for name in sorted(names):
        if name.lower() == "mlproject" and os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    return None


def load_project(directory: str) -> Project:
    """Parse and validate the project in ``directory`` (with or without an MLproject file)."""
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise ProjectError(f"Project directory {directory} does not exist.")
    path = find_mlproject(directory)
    project = Project(directory=directory)
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_yaml(path, "MLproject")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProjectError(f"{path} must be a YAML mapping of keys (name, entry_points, ...).")
    for key in data:
        if key not in KNOWN_KEYS:
            _warn(
                project, f"MLproject: unknown key {key!r} ignored (known: {', '.join(sorted(KNOWN_KEYS))})."
            )
    name = data.get("name")
    project.name = None if name is None else str(name)
    _load_environment(project, data)
    entry_points = data.get("entry_points") or {}
    if not isinstance(entry_points, dict):
        raise ProjectError(
            "MLproject: 'entry_points' must be a mapping of entry point name -> {command, parameters}."
        )
    for ep_name, ep_data in entry_points.items():
        project.entry_points[str(ep_name)] = _load_entry_point(project, str(ep_name), ep_data)
    return project


def _warn(project: Project, message: str) -> None:
    project.warnings.append(message)
    say(f"warning: {message}")


def _read_yaml(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ProjectError(f"{what} file {path} is not valid YAML: {exc}")
    except OSError as exc:
        raise ProjectError(f"Cannot read {what} file {path}: {exc.strerror}")


def _load_environment(project: Project, data: dict[str, Any]) -> None:
    present = [k for k in ENV_KEYS if data.get(k) is not None]
    if len(present) > 1:
        raise ProjectError(
            f"MLproject declares {len(present)} environments ({', '.join(present)}); keep exactly one of "
            "python_env, conda_env or docker_env."
        )
    if not present:
        for file_name, kind in ((PYTHON_ENV_FILE, "python_env"), (CONDA_ENV_FILE, "conda")):
            candidate = os.path.join(project.directory, file_name)
            if os.path.isfile(candidate):
                project.env_type, project.env_file = kind, candidate
                return
        return
    key = present[0]
    value = data[key]
    if key == "docker_env":
        project.env_type = "docker"
        project.docker_env = _validate_docker_env(value)
        return
    if not isinstance(value, str):
        raise ProjectError(f"MLproject: {key!r} must be the path of a YAML file, got {type(value).__name__}.")
    env_file = os.path.join(project.directory, value)
    if not os.path.isfile(env_file):
        raise ProjectError(f"MLproject: {key} file {value!r} does not exist in {project.directory}.")
    project.env_file = env_file
    if key == "python_env":
        project.env_type = "python_env"
    elif key == "conda_env":
        project.env_type = "conda"
    else:
        project.env_type = classify_env_file(env_file)


def classify_env_file(path: str) -> str:
    """``"conda"`` or ``"python_env"`` for an environment file, decided by what it contains."""
    content = _read_yaml(path, "environment")
    if not isinstance(content, dict):
        raise ProjectError(f"Environment file {path} must be a YAML mapping.")
    if (
        "channels" in content
        or isinstance(content.get("dependencies"), list)
        and any(
            isinstance(d, dict) or (isinstance(d, str) and d.replace(" ", "").startswith("python="))
            for d in content["dependencies"]
        )
    ):
        return "conda"
    if "python" in content or "build_dependencies" in content:
        return "python_env"
    if "dependencies" in content:
        return "conda"
    raise ProjectError(
        f"Cannot tell whether {path} is a conda.yaml (channels/dependencies) or a python_env.yaml "
        "(python/build_dependencies/dependencies)."
    )


def _validate_docker_env(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("image"), str) or not value["image"].strip():
        raise ProjectError(
            "MLproject: docker_env must be a mapping with an 'image' name, e.g. docker_env: {image: python:3.11}."
        )
    volumes = value.get("volumes") or []
    if not isinstance(volumes, list) or not all(isinstance(v, str) for v in volumes):
        raise ProjectError("MLproject: docker_env.volumes must be a list of 'host:container' strings.")
    environment = value.get("environment") or []
    if not isinstance(environment, list):
        raise ProjectError("MLproject: docker_env.environment must be a list of NAME or [NAME, value] items.")
    for item in environment:
        ok = isinstance(item, str) or (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and not isinstance(item[1], (list, dict))
        )
        if not ok:
            raise ProjectError(
                f"MLproject: docker_env.environment item {item!r} must be NAME or [NAME, value]."
            )
    return {"image": value["image"].strip(), "volumes": list(volumes), "environment": list(environment)}


def _load_entry_point(project: Project, name: str, data: Any) -> EntryPoint:
    if isinstance(data, str):
        data = {"command": data}
    if not isinstance(data, dict):
        raise ProjectError(f"MLproject: entry point {name!r} must be a mapping with a 'command'.")
    for key in data:
        if key not in ENTRY_POINT_KEYS:
            _warn(project, f"MLproject: entry point {name!r}: unknown key {key!r} ignored.")
    command = data.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ProjectError(f"MLproject: entry point {name!r} needs a 'command' string.")
    raw_params = data.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ProjectError(
            f"MLproject: entry point {name!r}: 'parameters' must be a mapping of name -> type."
        )
    params = {str(p): _load_parameter(project, name, str(p), spec) for p, spec in raw_params.items()}
    _check_placeholders(name, command, params)
    return EntryPoint(name=name, command=command, parameters=params)


def normalize_type(type_name: Any, where: str) -> str:
    """The canonical parameter type for ``type_name`` (``str`` -> ``string``), or an error."""
    if not isinstance(type_name, str):
        raise ProjectError(f"{where}: type must be one of {', '.join(PARAM_TYPES)}, got {type_name!r}.")
    canonical = TYPE_ALIASES.get(type_name.strip().lower(), type_name.strip().lower())
    if canonical not in PARAM_TYPES:
        raise ProjectError(
            f"{where}: unknown type {type_name!r}; use one of {', '.join(PARAM_TYPES)} (or str)."
        )
    return canonical


def _load_parameter(project: Project, ep_name: str, name: str, spec: Any) -> Parameter:
    where = f"MLproject: entry point {ep_name!r}, parameter {name!r}"
    if spec is None:
        return Parameter(name=name)
    if isinstance(spec, str):
        return Parameter(name=name, type=normalize_type(spec, where))
    if not isinstance(spec, dict):
        raise ProjectError(
            f"{where}: write either a type (e.g. '{name}: float') or a mapping {{type, default}}."
        )
    for key in spec:
        if key not in PARAM_KEYS:
            _warn(project, f"{where}: unknown key {key!r} ignored.")
    ptype = normalize_type(spec.get("type", "string"), where)
    if "default" not in spec:
        return Parameter(name=name, type=ptype)
    default = spec["default"]
    if isinstance(default, (list, dict)):
        raise ProjectError(f"{where}: default must be a single value, got {type(default).__name__}.")
    if default is not None:
        # Imported here to keep the module graph one-way (params builds on spec).
        from labkeep.projects.params import check_scalar

        problem = check_scalar(ptype, default)
        if problem:
            raise ProjectError(f"{where}: default {default!r} does not fit type {ptype}: {problem}.")
    return Parameter(name=name, type=ptype, default=default, has_default=default is not None)


def _check_placeholders(ep_name: str, command: str, params: dict[str, Parameter]) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(command) if f is not None]
    except ValueError as exc:
        raise ProjectError(
            f"MLproject: entry point {ep_name!r}: command has unbalanced braces ({exc}); write {{{{ for a literal brace."
        )
    for field_name in fields:
        if field_name == "" or field_name.isdigit():
            raise ProjectError(
                f"MLproject: entry point {ep_name!r}: command has a positional '{{}}'; name the parameter, e.g. {{alpha}}."
            )
        if field_name not in params:
            declared = ", ".join(sorted(params)) or "none"
            raise ProjectError(
                f"MLproject: entry point {ep_name!r}: command uses {{{field_name}}} but no parameter {field_name!r} "
                f"is declared (declared: {declared})."
            )


def _script_command(directory: str, name: str) -> str | None:
    import shlex

    quoted = shlex.quote(name)
    if name.endswith(".py"):
        return f"python {quoted}"
    if name.endswith(".sh"):
        return f"{os.environ.get('SHELL') or 'bash'} {quoted}"
    if name.endswith(".R"):
        return f"Rscript {quoted}"
    return None
