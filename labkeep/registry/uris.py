"""``models:/`` URIs (docs/reference/formats.md, model URIs): parse them and resolve them to an artifact location.

* ``models:/<model_id>`` (``m-…``) — a logged model: its artifact location.
* ``models:/<name>/<version>`` — that version's download location.
* ``models:/<name>/<stage>`` — the newest version in that stage (stage case-insensitive).
* ``models:/<name>/latest`` — the newest version in any stage.
* ``models:/<name>@<alias>`` — the version the alias points at.

Unknown names, versions, stages and aliases raise ``ResourceDoesNotExist`` naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist


@dataclass(frozen=True)
class ModelsUri:
    """The parts of a ``models:/`` URI; exactly one of model_id / version / stage / alias / latest is set."""

    uri: str
    name: str | None = None
    model_id: str | None = None
    version: str | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False


def parse_models_uri(uri: str) -> ModelsUri:
    """Split a ``models:/`` URI into its parts, or raise InvalidParameterValue saying what is wrong."""
    if not isinstance(uri, str) or not uri.lower().startswith("models:"):
        raise InvalidParameterValue(f"Not a models:/ URI: {uri!r}.")
    rest = uri[len("models:") :]
    if rest.startswith("//"):  # models://<profile>/... : the profile is not used here
        rest = rest[2:].partition("/")[2]
    parts = [p for p in rest.strip("/").split("/") if p]
    bad = InvalidParameterValue(
        f"Invalid model URI {uri!r}: expected models:/<name>/<version|stage|latest>, "
        "models:/<name>@<alias> or models:/<model_id>."
    )
    if len(parts) == 1:
        name, at, alias = parts[0].partition("@")
        if at:
            if not name or not alias:
                raise bad
            return ModelsUri(uri, name=name, alias=alias)
        return ModelsUri(uri, model_id=parts[0])
    if len(parts) != 2 or "@" in parts[0]:
        raise bad
    name, second = parts
    if second.isdigit():
        return ModelsUri(uri, name=name, version=str(int(second)))
    if second.lower() == "latest":
        return ModelsUri(uri, name=name, latest=True)
    return ModelsUri(uri, name=name, stage=second)


def resolve_models_uri_version(client: Any, uri: str) -> tuple[str, str] | None:
    """(name, version) a registry ``models:/`` URI points at; None for ``models:/<model_id>``."""
    ref = parse_models_uri(uri)
    if ref.model_id is not None:
        return None
    assert ref.name is not None
    name = ref.name
    if ref.version is not None:
        client.get_model_version(name, ref.version)  # raises naming the missing model / version
        return name, ref.version
    if ref.alias is not None:
        try:
            return name, client.get_model_version_by_alias(name, ref.alias).version
        except LabkeepException as exc:
            if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
                client.get_registered_model(name)  # unknown model -> its own error
                raise ResourceDoesNotExist(
                    f"Alias {ref.alias!r} not found on registered model {name!r} (from {uri})."
                ) from None
            raise
    stages = None
    if ref.stage is not None:
        from labkeep.registry.stages import canonical_stage

        try:
            stages = [canonical_stage(ref.stage)]
        except InvalidParameterValue as exc:
            raise ResourceDoesNotExist(
                f"Stage {ref.stage!r} in {uri} does not exist. {exc.message}"
            ) from None
    latest = client.get_latest_versions(name, stages)
    if not latest:
        where = f"in stage {stages[0]!r}" if stages else "at all"
        raise ResourceDoesNotExist(f"Registered model {name!r} has no versions {where} (from {uri}).")
    return name, max(latest, key=lambda v: int(v.version)).version


def resolve_models_uri(client: Any, uri: str) -> str:
    """The artifact location a ``models:/`` URI names (where its files can be downloaded from).

    ``client`` is a labkeep ``Client`` (anything with the MlflowClient registry methods and
    ``get_logged_model``).
    """
    ref = parse_models_uri(uri)
    if ref.model_id is not None:
        return client.get_logged_model(ref.model_id).artifact_location
    resolved = resolve_models_uri_version(client, uri)
    assert resolved is not None
    return client.get_model_version_download_uri(*resolved)
