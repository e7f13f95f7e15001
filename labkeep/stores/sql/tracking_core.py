"""What every part of the SQL tracking store shares: the database and the checks many writes make."""

from __future__ import annotations

from labkeep.entities import LifecycleStage
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.stores.sql.db import Cursor, Database, Row

RUN_NAME_TAG = "mlflow.runName"


class SqlStoreCore:
    """The database handle and lookups shared by the experiment, run, metric and model parts."""

    store_uri: str
    default_artifact_root: str
    db: Database

    def _experiment_location(self, experiment_id: int) -> str:
        return f"{self.default_artifact_root}/{experiment_id}"

    def _require_active_experiment(self, cur: Cursor, exp_id: int) -> Row:
        row = cur.execute(
            "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (exp_id,)
        ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"No experiment with id={exp_id} exists.")
        if row[0] != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"The experiment {exp_id} must be in the 'active' state; it is '{row[0]}'. Restore it first."
            )
        return row


    def _require_active_run(self, cur: Cursor, run_id: str) -> None:
        row = cur.execute("SELECT lifecycle_stage FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        self._check_active_run(run_id, None if row is None else row[0])

    @staticmethod
    def _check_active_run(run_id: str, stage: str | None) -> None:
        """Refuse a write to a run that is missing (``stage`` None) or not active."""
        if stage is None:
            raise ResourceDoesNotExist(f"Run with id={run_id} not found.")
        if stage != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"The run {run_id} must be in the 'active' state; it is '{stage}'. Restore it before logging to it."
            )

