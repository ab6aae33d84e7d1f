"""One page of a list: every list of the three APIs answers ``{"data": [...], "has_more", "next_cursor"}``.

The next page is asked with ``cursor=<next_cursor>`` (and the same filters); the cursor is opaque to
clients. A list that is short by nature (a shop's carriers, its webhook endpoints) answers the same shape
with ``has_more: false``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
EXAMPLE_CURSOR = "WyIyMDI2LTExLTI4VDA5OjU5OjU3KzAwOjAwIiwgIm9yZF80YjFlIl0"


def _example(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A page's example: one item, the example of its item model (``Page[OrderOut]`` shows an order)."""
    args = cls.__pydantic_generic_metadata__["args"]
    if not args or not isinstance(args[0], type) or not issubclass(args[0], BaseModel):
        return
    items = args[0].model_json_schema().get("examples") or []
    if items:
        schema["examples"] = [{"data": items[:1], "has_more": True, "next_cursor": EXAMPLE_CURSOR}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_example)

    data: list[T] = Field(description="The items of this page, in the order the operation names")
    has_more: bool = Field(description="More items follow: ask again with `cursor` set to `next_cursor`")
    next_cursor: str | None = Field(None, description="The `cursor` of the next page; null on the last page")

    @classmethod
    def whole(cls, items: list[T]) -> Page[T]:
        """A list that is never cut into pages."""
        return cls(data=items, has_more=False, next_cursor=None)
