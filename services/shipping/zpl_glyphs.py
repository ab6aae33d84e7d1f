"""Characters as ZPL stored graphics: each distinct character at each pixel size (and weight) is drawn once with
Pillow from WenQuanYi Micro Hei, the labels' font, downloaded once per document (``~DG``, Z64-compressed) and then
placed by name (``^XG``) wherever it occurs. Any ZPL printer prints these, with no font on the printer.

Names are fixed by (character, size, weight): ``WB`` and six base-36 digits, so a line's placement can be cached
across documents, and a document's clean-up can delete exactly ours (``^IDR:WB*.GRF``) and no one else's.
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import as_file

from PIL import Image, ImageDraw, ImageFont

from services.shipping.label_font import FONT_FACE, FONT_FILE
from services.shipping.label_layout import BASELINE, WIDTHS

PREFIX = "WB"
MAX_PX = 512  # the name holds 9 bits of pixel size (a 14 mm sort code at 600 dpi is 331 dots)
MAX_CELLS = 8192  # characters remembered per size and weight
_DRAWING = threading.Lock()
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Glyph:
    name: str  # stored as R:<name>.GRF
    dx: int  # the ink's top-left corner from the em box's top-left corner, in dots
    dy: int
    download: str  # the ~DG command that stores it
    size: int  # bytes the printer keeps
    recall: str  # places it at the field origin before it


def z64(data: bytes) -> str:
    """ZB64 (ZPL II Programming Guide, "ZB64 Encoding and Compression"): base64 of the deflated data, then the
    CRC-16 (CCITT, XMODEM) of the base64 text."""
    b64 = base64.b64encode(zlib.compress(data, 9))
    return f":Z64:{b64.decode()}:{binascii.crc_hqx(b64, 0):04X}"


def glyph_name(ch: str, px: int, bold: bool) -> str:
    if not 0 < px < MAX_PX:
        raise ValueError(f"text of {px} dots is out of range")
    n = (ord(ch) << 10) | (px << 1) | bold  # at most 0x10FFFF << 10 | 1023 < 36**6
    digits = []
    for _ in range(6):
        n, r = divmod(n, 36)
        digits.append(_DIGITS[r])
    return PREFIX + "".join(reversed(digits))


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont:
    with as_file(FONT_FILE) as path:
        return ImageFont.truetype(str(path), px, index=FONT_FACE)


def glyph(ch: str, px: int, bold: bool) -> Glyph | None:
    """The character's bitmap cropped to its ink; None for a blank (a space draws nothing)."""
    with _DRAWING:  # a FreeType face is not to be used by two threads at once
        return _glyph(ch, px, bold)


def _glyph(ch: str, px: int, bold: bool) -> Glyph | None:
    font = _font(px)
    box = font.getbbox(ch, anchor="ls")  # from the baseline origin
    left, top, right, bottom = math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])
    # Bold by overstriking one dot (two at 300 dpi and above): the font has no bold face.
    shift = max(1, round(px / 24)) if bold else 0
    width, height = right - left + shift, bottom - top
    if width <= shift or height <= 0:
        return None
    img = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for dx in range(shift + 1):
        draw.text((dx - left, -top), ch, font=font, fill=1, anchor="ls")
    ink = img.getbbox()
    if ink is None:
        return None
    img = img.crop(ink)
    data = img.tobytes()  # 1 bit per dot, MSB leftmost, 1 = black, rows padded to bytes: what ~DG wants
    row = (img.width + 7) // 8
    name = glyph_name(ch, px, bold)
    download = f"~DGR:{name}.GRF,{len(data)},{row},{z64(data)}\n"
    dx, dy = left + ink[0], round(BASELINE * px) + top + ink[1]
    return Glyph(name, dx, dy, download, len(data), f"^XGR:{name}.GRF,1,1^FS")


class Cells(dict[str, tuple[float, Glyph | None]]):
    """Each character's advance (em) and glyph at one size and weight, drawn on first use. A plain dict lookup
    per character: the batch rate rests on this."""

    def __init__(self, px: int, bold: bool) -> None:
        super().__init__()
        self.px, self.bold = px, bold

    def __missing__(self, ch: str) -> tuple[float, Glyph | None]:
        if len(self) >= MAX_CELLS:  # hostile text could bring every code point
            self.clear()
        cell = self[ch] = (WIDTHS.get(ch, 1.0), glyph(ch, self.px, self.bold))
        return cell


@lru_cache(maxsize=256)
def cells(px: int, bold: bool) -> Cells:
    return Cells(px, bold)
