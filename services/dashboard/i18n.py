"""The language a page is shown in, and the pages' own words. Templates write Chinese, the default, inside
``_("...")``; in English that text is looked up in ``EN`` (a test holds every ``_()`` of the templates to
an entry). ``?lang=en`` or ``?lang=zh`` on any page sets the choice in a cookie."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from services.dashboard.catalogue import LANGS, Lang
from services.dashboard.ui_text_en import EN

LANG_COOKIE = "waybill_dashboard_lang"
DEFAULT_LANG: Lang = "zh"


def choose_lang(request: Request) -> Lang:
    """``?lang=`` first (the switch), then the cookie, then Chinese."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return DEFAULT_LANG


def translator(lang: Lang) -> Callable[[str], str]:
    if lang == "zh":
        return lambda text: text
    # A text without its English yet still shows, in Chinese, rather than failing the page.
    return lambda text: EN.get(text, text)
