"""What every project run shares once its command is under way: a status, and one way to close the run."""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

from labkeep.projects.output import say
from labkeep.projects.sources import ProjectSource

OUTPUT_ARTIFACT = "project_output.txt"
EXIT_CODE_TAG = "labkeep.project.exitCode"


class BaseSupervisor:
    """Owns one run from launch to close; backends say how to start, follow and stop the command.

    Subclasses set :attr:`started` once the command exists (before that a Ctrl-C stops the
    preparation instead) and call :meth:`close` exactly once with the final status.
    """

    def __init__(self, client: Any, run_id: str, source: ProjectSource, storage_dir: str) -> None:
        self.client = client
        self.run_id = run_id
        self.source = source
        self.storage_dir = storage_dir
        self.status = "RUNNING"
        self.exit_code: int | None = None
        self.server: Any = None
        self._killed = False
        self._done = threading.Event()

    @property
    def started(self) -> bool:
        """Whether the command exists (signals are then forwarded to it)."""
        return False

    def terminate(self, signum: int) -> None:  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the run is closed; False when ``timeout`` passed first."""
        return self._done.wait(timeout)

    @property
    def log_path(self) -> str:
        return os.path.join(self.storage_dir, OUTPUT_ARTIFACT)

    def close(self, status: str, log_path: str | None) -> None:
        """Stop the helper server, save the output log, record the exit code and end the run."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        try:
            if log_path and os.path.exists(log_path):
                self.client.log_artifact(self.run_id, log_path)
            if status != "FINISHED" and self.exit_code is not None:
                self.client.set_tag(self.run_id, EXIT_CODE_TAG, str(self.exit_code))
            self.client.set_terminated(self.run_id, status)
        except Exception as exc:  # noqa: BLE001 - the command's result still stands; say why the record is incomplete
            say(f"warning: could not close run {self.run_id} as {status}: {exc}")
        finally:
            self.status = status
            self.source.cleanup()
            shutil.rmtree(self.storage_dir, ignore_errors=True)
            self._done.set()
