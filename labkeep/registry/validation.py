"""Input rules of the model registry (docs/reference/limits.md): names, versions, tags, aliases."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from labkeep.exceptions import InvalidParameterValue

MAX_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 5000
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
MAX_SOURCE_LENGTH = 2048
MAX_COMMENT_LENGTH = 5000

_TAG_KEY_RE = re.compile(r"^[\w\-. /:]+$")
_ALIAS_RE = re.compile(r"^[\w-]+$")
_VERSION_LIKE_ALIAS_RE = re.compile(r"^[vV]?\d+$")


def validate_model_name(name: Any, what: str = "Registered model name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterValue(f"{what} cannot be empty.")
    if "/" in name or ":" in name:
        raise InvalidParameterValue(f"{what} {name!r} must not contain '/' or ':'.")
    if ".." in name:
        raise InvalidParameterValue(f"{what} {name!r} must not contain '..'.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterValue(f"{what} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}.")
    return name


def validate_version(version: Any) -> int:
    """A model version is a positive integer (given as int or decimal string)."""
    if isinstance(version, bool):
        version = None
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isdigit():
        number = int(version.strip())
    else:
        raise InvalidParameterValue(f"Model version must be a positive integer, got {version!r}.")
    if number < 1:
        raise InvalidParameterValue(f"Model version must be a positive integer, got {version!r}.")
    return number


def validate_description(description: Any) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise InvalidParameterValue("Description must be a string.")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidParameterValue(
            f"Description is {len(description)} characters long; the limit is {MAX_DESCRIPTION_LENGTH}."
        )
    return description


def validate_tag(key: Any, value: Any) -> tuple[str, str]:
    key = validate_tag_key(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameterValue(
            f"Value of tag {key!r} is {len(value)} characters long; the limit is {MAX_TAG_VALUE_LENGTH}."
        )
    return key, value


def validate_tag_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue("Tag key cannot be empty.")
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise InvalidParameterValue(
            f"Tag key is {len(key)} characters long; the limit is {MAX_TAG_KEY_LENGTH}."
        )
    if not _TAG_KEY_RE.match(key):
        raise InvalidParameterValue(
            f"Invalid tag key {key!r}: use letters, digits, '_', '-', '.', ' ', '/' or ':'."
        )
    if key.startswith("/") or posixpath.normpath(key) != key.rstrip("/") or ".." in key.split("/"):
        raise InvalidParameterValue(f"Invalid tag key {key!r}: it must be a normalized relative path.")
    return key


def validate_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not alias:
        raise InvalidParameterValue("Alias cannot be empty.")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameterValue(
            f"Alias is {len(alias)} characters long; the limit is {MAX_ALIAS_LENGTH}."
        )
    if not _ALIAS_RE.match(alias):
        raise InvalidParameterValue(f"Invalid alias {alias!r}: use only letters, digits, '_' and '-'.")
    if alias.lower() == "latest":
        raise InvalidParameterValue("'latest' is reserved and cannot be used as an alias.")
    if _VERSION_LIKE_ALIAS_RE.match(alias):
        raise InvalidParameterValue(
            f"Alias {alias!r} looks like a version number (e.g. 'v3' or '3'), which is reserved."
        )
    return alias


def validate_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise InvalidParameterValue("Comment must be a string.")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidParameterValue(
            f"Comment is {len(comment)} characters long; the limit is {MAX_COMMENT_LENGTH}."
        )
    return comment
