"""The mypy settings in pyproject.toml: ``--strict`` on the stores and the REST API, not elsewhere.

scripts/test.sh runs one plain ``mypy``; these tests check that this one run holds
``labkeep/stores`` and ``labkeep/server/api`` to every per-module rule ``--strict`` turns on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

mypy_main = pytest.importorskip("mypy.main")
mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
STRICT_PACKAGES = ("labkeep/stores", "labkeep/server/api")


def _flags(options: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(options, name) for name in names}


def _strict_flags() -> dict[str, Any]:
    """What ``--strict`` changes from mypy's defaults, asked of mypy itself (so a flag added to
    ``--strict`` by a later mypy shows up here)."""
    _, plain = mypy_main.process_options(["--config-file", "", "-c", "pass"])
    _, strict = mypy_main.process_options(["--strict", "--config-file", "", "-c", "pass"])
    names = [n for n in dir(strict) if not n.startswith("_") and not callable(getattr(strict, n))]
    return {n: getattr(strict, n) for n in names if getattr(strict, n) != getattr(plain, n)}


def _project_options() -> Any:
    _, options = mypy_main.process_options(["--config-file", str(PYPROJECT)])
    return options


def _modules(package_dir: str) -> list[str]:
    out = []
    for path in sorted((ROOT / package_dir).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append(".".join(parts))
    return out


def test_mypy_tells_which_flags_strict_turns_on() -> None:
    strict = _strict_flags()
    assert {"disallow_untyped_defs", "disallow_any_generics", "warn_return_any"} <= strict.keys()


@pytest.mark.parametrize("package_dir", STRICT_PACKAGES)
def test_every_module_of_the_strict_packages_gets_every_strict_flag(package_dir: str) -> None:
    strict = _strict_flags()
    project = _project_options()
    modules = _modules(package_dir)
    assert len(modules) > 3
    for module in modules:
        effective = project.clone_for_module(module)
        assert _flags(effective, list(strict)) == strict, module


def test_the_rest_of_the_tree_stays_non_strict() -> None:
    strict = _strict_flags()
    project = _project_options()
    for module in ("labkeep.client", "labkeep.transfer.engine", "labkeep.server.app", "labkeep.server.apps"):
        effective = project.clone_for_module(module)
        assert effective.disallow_untyped_defs is False, module
        assert effective.disallow_any_generics is False, module
    # global-only strict flags are on for the whole tree
    assert project.warn_redundant_casts is strict["warn_redundant_casts"]


def test_mypy_rejects_an_untyped_def_in_a_strict_package_only(tmp_path: Path) -> None:
    """A real mypy run with the project's config on a tiny tree of the same module names."""
    body = "def double(x):\n    return x * 2\n\n\ndef names() -> list:\n    return []\n"
    for rel in ("labkeep/__init__.py", "labkeep/stores/__init__.py", "labkeep/server/__init__.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "labkeep/stores/probe.py").write_text(body)
    (tmp_path / "labkeep/server/loose.py").write_text(body)
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file", str(PYPROJECT),
            "--cache-dir", str(tmp_path / ".mypy_cache"),
            str(tmp_path / "labkeep/stores/probe.py"),
            str(tmp_path / "labkeep/server/loose.py"),
        ]
    )  # fmt: skip
    assert status == 1, stdout + stderr
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert any("probe.py:1:" in e and "[no-untyped-def]" in e for e in errors), stdout
    assert any("probe.py:5:" in e and "[type-arg]" in e for e in errors), stdout
    assert not any("loose.py" in e for e in errors), stdout
