"""The README's refusal table is what the code does: each row's code, given by its channel, is classified as the
row says (a row edited, or a code reclassified, fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.shipping.channels.base import Refusal
from services.shipping.channels.pinduoduo.errors import PddError
from services.shipping.channels.taobao.channel import refusal as taobao_refusal
from services.shipping.channels.taobao.protocol import OFFLINE_PREFIX, TopError

README = Path(__file__).resolve().parents[3] / "README.md"


def _rows() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- refusal-table -->", 1)[1].split("<!-- /refusal-table -->", 1)[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], cells[1], cells[3]))
    return rows


ROWS = _rows()


def _taobao(code: str) -> Refusal:
    if re.fullmatch(r"[A-Z]\d+", code):
        return taobao_refusal(TopError(15, "Remote service error", f"{OFFLINE_PREFIX}{code}", "sub"))
    return taobao_refusal(TopError(7 if code.startswith("accesscontrol") else 15, "error", code, "sub"))


def test_the_table_covers_both_marketplaces_and_every_refusal() -> None:
    assert {channel for channel, _, _ in ROWS} == {"taobao", "pinduoduo"}
    assert {refusal for _, _, refusal in ROWS} == {r.value for r in Refusal}


@pytest.mark.parametrize(("channel", "code", "refusal"), ROWS, ids=[f"{c}-{k}" for c, k, _ in ROWS])
def test_each_row_is_how_the_channel_classifies_the_code(channel: str, code: str, refusal: str) -> None:
    found = _taobao(code) if channel == "taobao" else PddError(int(code), "error").refusal
    assert found is Refusal(refusal)


@pytest.mark.parametrize("code", ["10019", "10035"])
def test_an_expired_or_invalid_pinduoduo_token_says_so(code: str) -> None:
    assert PddError(int(code), "access_token").session_invalid


def test_no_answer_is_retried_on_every_channel() -> None:
    assert taobao_refusal(TopError("network", "ReadTimeout")) is Refusal.RETRY
    assert PddError("network", "ReadTimeout").refusal is Refusal.RETRY
