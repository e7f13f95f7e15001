"""Model version stages: the configured list, canonical spelling, and transition rules.

The list comes from one place: the ``LABKEEP_REGISTRY_STAGES`` setting (a comma-separated list,
e.g. ``Dev,QA,Staging,Production,Archived``; ``labkeep server --registry-stages`` sets the same
variable). Without it the stages are mlflow's: ``None, Staging, Production, Archived``. ``None``
is always present because every new version starts there.
"""

from __future__ import annotations

from labkeep import config
from labkeep.exceptions import InvalidParameterValue

STAGES_ENV = config.REGISTRY_STAGES.name
STAGE_NONE = "None"
STAGE_ARCHIVED = "Archived"
DEFAULT_STAGES = (STAGE_NONE, "Staging", "Production", STAGE_ARCHIVED)


def parse_stages(spec: str) -> tuple[str, ...]:
    """Parse a comma-separated stage list; ``None`` is prepended when missing."""
    stages: list[str] = []
    seen: set[str] = set()
    for raw in spec.split(","):
        stage = raw.strip()
        if not stage:
            continue
        if len(stage) > 50 or not all(c.isalnum() or c in "_- " for c in stage):
            raise InvalidParameterValue(
                f"Invalid stage name {stage!r} in {STAGES_ENV}: use letters, digits, '_', '-' or "
                "spaces, at most 50 characters."
            )
        if stage.lower() in seen:
            raise InvalidParameterValue(f"Stage {stage!r} is listed twice in {STAGES_ENV}.")
        seen.add(stage.lower())
        stages.append(STAGE_NONE if stage.lower() == "none" else stage)
    if STAGE_NONE not in stages:
        stages.insert(0, STAGE_NONE)
    return tuple(stages)


def allowed_stages() -> tuple[str, ...]:
    """The stages transitions accept, in their canonical spelling."""
    spec = (config.REGISTRY_STAGES.get() or "").strip()
    return parse_stages(spec) if spec else DEFAULT_STAGES


def canonical_stage(stage: str | None) -> str:
    """Return the configured spelling of ``stage`` (case-insensitive), or raise listing the choices."""
    stages = allowed_stages()
    if isinstance(stage, str):
        for known in stages:
            if known.lower() == stage.strip().lower():
                return known
    raise InvalidParameterValue(
        f"Invalid Model Version stage: {stage!r}. Value must be one of {', '.join(stages)} "
        "(case-insensitive)."
    )


def check_archive_existing(stage: str) -> str:
    """``archive_existing_versions`` needs a non-terminal target and an Archived stage to move to."""
    stages = allowed_stages()
    if STAGE_ARCHIVED not in stages:
        raise InvalidParameterValue(
            "archive_existing_versions=True needs an 'Archived' stage, which the configured stages "
            f"({', '.join(stages)}) do not include."
        )
    if stage in (STAGE_NONE, STAGE_ARCHIVED):
        targets = [s for s in stages if s not in (STAGE_NONE, STAGE_ARCHIVED)]
        raise InvalidParameterValue(
            f"archive_existing_versions=True is only allowed when transitioning to one of "
            f"{', '.join(targets)}, not to {stage!r}."
        )
    return STAGE_ARCHIVED
