"""Settings: every LABKEEP_*/MLFLOW_* variable is declared once in labkeep/config.py and read there."""

import ast
import pathlib

import pytest

from labkeep import config
from labkeep.exceptions import InvalidParameterValue

PACKAGE = pathlib.Path(config.__file__).parent


def _env_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """Reads of os.environ / os.getenv of a LABKEEP_/MLFLOW_ variable, and aliases of os.environ.get."""
    found = []
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.environ.get", "os.getenv", "environ.get") and node.args:
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if ast.unparse(node.value) in ("os.environ", "environ"):
                key = node.slice
        elif (
            isinstance(node, ast.Attribute)
            and id(node) not in called
            and ast.unparse(node) == "os.environ.get"
        ):
            key = ast.Constant(value="<alias>")  # `env = os.environ.get` hides the names read
        if key is None:
            continue
        name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else ""
        if name == "<alias>" or name.startswith(("LABKEEP_", "MLFLOW_")):
            found.append((node.lineno, name))
    return found


def test_labkeep_settings_are_read_only_through_config():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "config.py" and path.parent == PACKAGE:
            continue
        for line, name in _env_reads(ast.parse(path.read_text())):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} reads {name}")
    # Variables of other tools (PATH, XDG_*, PIP_*, AWS_REGION…) are read where those tools' rules apply.
    assert not offenders, "declare a Setting in labkeep/config.py and use it:\n" + "\n".join(offenders)


def test_each_variable_is_declared_once():
    names = [name for s in config.SETTINGS for name in s.names]
    assert len(names) == len(set(names))
    assert all(s.doc and s.group for s in config.SETTINGS)


def test_labkeep_spelling_wins_then_mlflow_then_default(monkeypatch):
    setting = config.HTTP_REQUEST_TIMEOUT
    for name in setting.names:
        monkeypatch.delenv(name, raising=False)
    assert setting.number() == 120.0 and not setting.is_set()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    assert setting.number() == 30.0
    monkeypatch.setenv("LABKEEP_HTTP_REQUEST_TIMEOUT", "")  # empty counts as unset
    assert setting.number() == 30.0
    monkeypatch.setenv("LABKEEP_HTTP_REQUEST_TIMEOUT", "7.5")
    assert setting.number() == 7.5


@pytest.mark.parametrize(
    ("setting", "value", "want"),
    [
        (config.HTTP_REQUEST_TIMEOUT, "soon", "a number"),
        (config.SQL_POOL_SIZE, "5.5", "an integer"),
        (config.ASYNC_TRACE_LOGGING, "maybe", "true or false"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch, setting, value, want):
    monkeypatch.setenv(setting.names[-1], value)
    with pytest.raises(InvalidParameterValue) as caught:
        {"a number": setting.number, "an integer": setting.integer, "true or false": setting.flag}[want]()
    assert setting.names[-1] in caught.value.message and want in caught.value.message
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_flags_accept_the_usual_spellings(monkeypatch):
    for value, expected in [("1", True), ("TRUE", True), ("on", True), ("0", False), ("No", False)]:
        monkeypatch.setenv("LABKEEP_DISABLE_GIT_CONTEXT", value)
        assert config.DISABLE_GIT_CONTEXT.flag() is expected
