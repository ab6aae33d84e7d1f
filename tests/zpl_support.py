"""Reading ZPL labels back: zplkit (an offline ZPL engine, a test tool only) prints them to images, and Pillow
draws what the text should look like, from the labels' font, where the layout puts it."""

from __future__ import annotations

import zplkit
from PIL import Image, ImageDraw, ImageFont
from zplkit.rendering import Limits

from services.shipping import label_layout, zpl
from services.shipping.label_font import FONT_FACE, FONT_FILE
from services.shipping.labels import LabelData
from services.shipping.models.base import LabelSize

# zplkit's defaults suit one label; a batch of labels each recalling its glyphs needs more
_LIMITS = Limits(
    input_bytes=64 << 20,
    labels=1000,
    segments=10**8,
    stored_graphic_segments=10**8,
    recall_calls=10**7,
    font_bytes=64 << 20,
)


def render(doc: bytes, size: LabelSize, dpi: int) -> list[Image.Image]:
    """Every label of the document as zplkit prints it (zplkit has no ^ID: the clean-up format, which prints
    nothing, is checked by the reference reader instead)."""
    body = doc.replace(zpl.CLEANUP.encode(), b"")
    d = zpl.DOTS_PER_MM[dpi]
    w, h = (round(v * d) for v in label_layout.page_size(size))
    options = zplkit.Options(profile="specification", width=w, height=h, dpi=dpi)
    rendered = zplkit.render(body, options, limits=_LIMITS)
    assert rendered.warnings == []
    out = []
    for scene in rendered.labels:
        raster = scene.rasterize()
        out.append(Image.frombytes("L", (raster.width, raster.height), raster.pixels))
    return out


def expected_text(label: LabelData, size: LabelSize, dpi: int) -> Image.Image:
    """The label's text as the layout places it, each character drawn by Pillow from the font file on its own
    (the ZPL writer's glyph code is not used), bold as a one-dot overstrike; ink is 1."""
    d = zpl.DOTS_PER_MM[dpi]
    w, h = (round(v * d) for v in label_layout.page_size(size))
    img = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(img)
    for e in label_layout.layout(label, size).elements:
        if not isinstance(e, label_layout.Text):
            continue
        scale = e.size * d
        font = ImageFont.truetype(str(FONT_FILE), round(scale), index=FONT_FACE)
        shifts = range(max(1, round(round(scale) / 24)) + 1) if e.bold else range(1)
        for x, y, line in e.placed():
            at = 0.0
            for ch in line:
                base_x = round(x * d) + round(at * scale)
                base_y = round(y * d) + round(label_layout.BASELINE * round(scale))
                for s in shifts:
                    draw.text((base_x + s, base_y), ch, font=font, fill=1, anchor="ls")
                at += label_layout.char_width(ch)
    return img


def inked(image: Image.Image) -> int:
    return image.width * image.height - image.histogram()[0]


def text_boxes(label: LabelData, size: LabelSize, dpi: int, only: str = "") -> Image.Image:
    """Where the layout puts text (or only the text named): 1 inside each text's box."""
    d = zpl.DOTS_PER_MM[dpi]
    boxes = Image.new("1", tuple(round(v * d) for v in label_layout.page_size(size)), 0)  # type: ignore[arg-type]
    for e in label_layout.layout(label, size).elements:
        if isinstance(e, label_layout.Text) and only in ("", e.name):
            box = (round(e.x * d), round(e.y * d), round((e.x + e.max_width) * d), round((e.y + e.height) * d) + 2)
            ImageDraw.Draw(boxes).rectangle(box, fill=1)
    return boxes
