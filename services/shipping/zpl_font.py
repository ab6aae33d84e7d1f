"""Text in a font the printer holds, the ZPL writer's other mode: each line one ``^A@`` field (a TrueType font by
its name on the printer) instead of a picture per character. A job is a fraction of the size and many times
faster to make; it needs the font on the printer: one a China-market printer carries, or the labels' own font,
stored once per printer with ``font_download()`` (flash, E:, keeps it across power cycles).

The field data is the label's text in UTF-8 (``^CI28``): every ``^``, ``~``, the ``^FH`` indicator ``_``, ``\\``
and every control character goes as ``_hh``, so no text can start a command.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from functools import lru_cache
from importlib.resources import as_file

from services.shipping.label_font import FONT_FACE, FONT_FILE
from services.shipping.label_layout import BASELINE, Text
from services.shipping.zpl_glyphs import z64

# d:name.ext on the printer, e.g. E:WQY.TTF: a configured name, checked so that it cannot carry a command
_FONT_NAME = re.compile(r"[A-Z]:[A-Z0-9_]{1,16}\.(TTF|TTE|FNT)")
DEFAULT_FONT = "E:WQY.TTF"
_ESCAPED = frozenset("^~_\\")


def check_font_name(name: str) -> str:
    if not _FONT_NAME.fullmatch(name):
        raise ValueError(f"not a printer font name (like {DEFAULT_FONT}): {name!r}")
    return name


def text_data(text: str) -> str:
    return "".join(
        "".join(f"_{b:02X}" for b in c.encode()) if c in _ESCAPED or unicodedata.category(c)[0] == "C" else c
        for c in text
    )


def text_fields(e: Text, d: float, font: str) -> str:
    """Each line by its baseline (^FT: where a font's ascent puts its top is the printer's business), bold
    overstruck up to a twenty-fourth of an em to the right (a TrueType font has no bold), like the glyphs."""
    h = round(e.size * d)
    baseline = round(BASELINE * h)
    shifts = range(max(1, round(h / 24)) + 1) if e.bold else range(1)
    return (
        "".join(
            f"^FT{round(x * d) + s},{round(y * d) + baseline}^A@N,{h},{h},{font}^FH_^FD{text_data(line)}^FS"
            for x, y, line in e.placed()
            for s in shifts
        )
        + "\n"
    )


def ttf_face(collection: bytes, index: int) -> bytes:
    """One face of a TrueType collection as a TrueType font of its own (printers take no collections): its
    tables copied behind a new table directory, with head's checksum adjustment made anew."""
    if collection[:4] != b"ttcf":
        raise ValueError("not a TrueType collection")
    (start,) = struct.unpack_from(">I", collection, 12 + 4 * index)
    version, count = struct.unpack_from(">IH", collection, start)
    records = sorted(struct.unpack_from(">4sIII", collection, start + 12 + 16 * i) for i in range(count))
    selector = count.bit_length() - 1
    search = 16 << selector
    directory = [struct.pack(">IHHHH", version, count, search, selector, count * 16 - search)]
    tables = []
    at = 12 + 16 * count
    head_at = 0
    for tag, checksum, offset, length in records:
        data = collection[offset : offset + length]
        directory.append(struct.pack(">4sIII", tag, checksum, at, length))
        head_at = at if tag == b"head" else head_at
        tables.append(data + b"\0" * (-length % 4))
        at += length + (-length % 4)
    font = bytearray(b"".join(directory) + b"".join(tables))
    font[head_at + 8 : head_at + 12] = bytes(4)
    total = sum(struct.unpack(f">{len(font) // 4}I", font)) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - total) & 0xFFFFFFFF)
    return bytes(font)


@lru_cache(maxsize=1)
def label_font_ttf() -> bytes:
    with as_file(FONT_FILE) as path:
        return ttf_face(path.read_bytes(), FONT_FACE)


def font_download(name: str = DEFAULT_FONT) -> bytes:
    """The ~DU job that stores the labels' font (WenQuanYi Micro Hei, about 4.6 MB) on a printer under ``name``:
    sent once per printer, before its first job in the font mode."""
    data = label_font_ttf()
    return f"~DU{check_font_name(name)},{len(data)},{z64(data)}\n".encode("ascii")
