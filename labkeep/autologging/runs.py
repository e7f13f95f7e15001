"""Run handling for autologged training: reuse the active run, or start one and end it after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

AUTOLOGGING_TAG = "mlflow.autologging"


@contextlib.contextmanager
def training_run(flavor: str, conf: dict[str, Any]) -> Iterator[Any]:
    """Yield the run training logs to: the caller's active run, or a new one ended afterwards.

    A run started here is tagged ``mlflow.autologging=<flavor>`` plus ``extra_tags`` and ends
    FINISHED, or FAILED when training raised.
    """
    from labkeep import fluent

    extra = {k: str(v) for k, v in (conf.get("extra_tags") or {}).items()}
    active = fluent.active_run()
    if active is not None:
        if extra:
            fluent.set_tags(extra)
        yield active
        return
    run = fluent.start_run(tags={AUTOLOGGING_TAG: flavor, **extra})
    status = "FINISHED"
    try:
        yield run
    except BaseException:
        status = "FAILED"
        raise
    finally:
        active = fluent.active_run()
        if active is not None and active.info.run_id == run.info.run_id:
            fluent.end_run(status)


def child_run(flavor: str, run_name: str | None = None) -> Any:
    """Start a nested run under the active one (a search candidate); the caller ends it."""
    from labkeep import fluent

    return fluent.start_run(nested=True, run_name=run_name, tags={AUTOLOGGING_TAG: flavor})
