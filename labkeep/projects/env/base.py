"""What every environment manager hands back: how to run a shell command inside the environment."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field


def shell() -> str:
    """The shell used to run entry-point commands (bash when present, else sh)."""
    return shutil.which("bash") or "/bin/sh"


@dataclass
class Environment:
    """A ready environment.

    ``kind`` is the manager that built it (``local``, ``uv``, ``virtualenv``, ``conda``, ``docker``);
    ``bin_dir`` is put first on PATH so ``python`` in a command means this environment's interpreter.
    """

    kind: str
    prefix: str | None = None
    bin_dir: str | None = None
    python: str = sys.executable
    reused: bool = False
    build_seconds: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)

    def process_env(self, base: dict[str, str]) -> dict[str, str]:
        """The child's environment variables: ``base`` with this environment activated."""
        env = dict(base)
        env.pop("PYTHONHOME", None)
        if self.bin_dir:
            env["PATH"] = self.bin_dir + os.pathsep + env.get("PATH", os.defpath)
        if self.prefix and self.kind in ("uv", "virtualenv"):
            env["VIRTUAL_ENV"] = self.prefix
        if self.prefix and self.kind == "conda":
            env["CONDA_PREFIX"] = self.prefix
        return env

    def command_argv(self, command: str, env: dict[str, str], cwd: str) -> list[str]:
        """The argv that runs the shell ``command`` in this environment."""
        return [shell(), "-c", command]
