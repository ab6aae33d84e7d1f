"""One text in every language the dashboard speaks: what catalogue.py and catalogue_orders.py are made of."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


class Entry(dict[Lang, str]):
    """One text in every language."""


def entry(zh: str, en: str) -> Entry:
    return Entry(zh=zh, en=en)
