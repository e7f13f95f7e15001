"""A list page with the token that fetches the next one."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class PagedList(list, Generic[T]):
    """A ``list`` of results plus ``token``: the next page's token, or None on the last page."""

    def __init__(self, items: list[T], token: str | None = None) -> None:
        super().__init__(items)
        self.token = token
