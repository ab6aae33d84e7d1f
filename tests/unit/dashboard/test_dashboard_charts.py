"""The server-drawn SVG chart: a well-formed SVG with nothing the pages' CSP refuses (no script, no style), the
columns stacked to scale on a round axis, every text escaped, at most a dozen bucket labels, and a word when
there is nothing to draw."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from services.dashboard.charts import NONE_COLOUR, PALETTE, PLOT_HEIGHT, Series, nice_ceiling, stacked_columns

SVG = "{http://www.w3.org/2000/svg}"


def _yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


def _chart(labels: list[str], series: list[Series], **options: str) -> str:
    return stacked_columns(labels, series, title=options.get("title", "支出"), empty="没有支出", amount=_yuan)


@pytest.mark.parametrize(
    ("largest", "top", "step"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (7, 8, 2),
        (10, 10, 2),
        (99, 100, 20),
        (280_000, 300_000, 100_000),
        (431_801, 500_000, 100_000),
    ],
)
def test_the_axis_is_round_and_holds_the_largest_stack(largest: int, top: int, step: int) -> None:
    assert nice_ceiling(largest) == (top, step)
    assert top >= largest
    assert top // step <= 5


def test_columns_stack_to_scale_with_a_colour_per_series() -> None:
    svg = _chart(
        ["12-06", "12-07"], [Series("ZTO", [300, 100]), Series("YTO", [100, 0]), Series("无", [0, 50], none=True)]
    )
    root = ET.fromstring(svg)  # well-formed
    assert root.tag == f"{SVG}svg"
    assert not re.search(r"<script|<style|style=", svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    tips = [r.find(f"{SVG}title").text for r in bars]  # type: ignore[union-attr]
    assert tips == ["12-06 · ZTO: ¥3.00", "12-06 · YTO: ¥1.00", "12-07 · ZTO: ¥1.00", "12-07 · 无: ¥0.50"]
    heights = [float(r.get("height", 0)) for r in bars]
    top, _ = nice_ceiling(400)
    assert heights[0] == pytest.approx(PLOT_HEIGHT * 300 / top, abs=0.1)
    assert heights[0] == pytest.approx(3 * heights[1], abs=0.2)
    # The second series sits on the first.
    assert float(bars[1].get("y", 0)) + heights[1] == pytest.approx(float(bars[0].get("y", 0)), abs=0.2)
    assert [r.get("fill") for r in bars] == [PALETTE[0], PALETTE[1], PALETTE[0], NONE_COLOUR]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "ZTO" in texts
    assert "¥4.00" in texts  # the axis top
    assert "没有支出" not in texts


def test_every_text_is_escaped() -> None:
    svg = _chart(["<b>"], [Series('"><script>alert(1)</script>', [5])], title="a & b")
    assert "<script" not in svg
    assert "&lt;b&gt;" in svg
    assert "a &amp; b" in svg
    ET.fromstring(svg)


def test_at_most_a_dozen_bucket_labels() -> None:
    labels = [f"d{i}" for i in range(366)]
    svg = _chart(labels, [Series("ZTO", [1] * 366)])
    shown = [t for t in ET.fromstring(svg).iter(f"{SVG}text") if (t.text or "").startswith("d")]
    assert 1 < len(shown) <= 12
    assert shown[0].text == "d0"


def test_nothing_to_draw_says_so() -> None:
    svg = _chart(["12-06", "12-07"], [])
    root = ET.fromstring(svg)
    assert "没有支出" in [t.text for t in root.iter(f"{SVG}text")]
    assert not [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
