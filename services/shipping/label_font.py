"""The font labels embed: WenQuanYi Micro Hei (font licence Apache-2.0), from the paperang-p2-fonts-cjk package, so
a label shows its Chinese on any machine, viewer and printer driver without a system font.

A document embeds only the characters it uses, as TrueType subsets of up to 256 characters each: reportlab's
``TTFont`` gives each new character a (subset, code), and ``font_subset`` cuts the subset from the font file.
Every object a subset needs (font, descriptor, font file, ToUnicode map) gets its numbers when the subset is
first used and is written when the document ends, so a batch streams its pages while the subsets still grow.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib.resources import as_file, files

from reportlab.pdfbase.ttfonts import SUBSETN, TTFont, makeToUnicodeCMap

from services.shipping.font_subset import Subsetter

FONT_FILE = files("paperang_p2_fonts_cjk") / "fonts/wqy-microhei.ttc"
FONT_FACE = 0  # the collection's first face, Micro Hei (the second is its monospaced cut)


@lru_cache(maxsize=1)
def cjk_font() -> TTFont:
    """The parsed font, once per process (about 0.1-0.7 s)."""
    with as_file(FONT_FILE) as path:
        # asciiReadable off: the first subset holds the characters used, not all of ASCII (smaller and faster).
        return TTFont("WenQuanYi", str(path), subfontIndex=FONT_FACE, asciiReadable=False)


@lru_cache(maxsize=1)
def subsetter() -> Subsetter:
    return Subsetter(cjk_font().face)


class FontSubsets:
    """One document's use of the font: the codes given so far and the object numbers of each subset.

    ``reserve(n)`` hands out ``n`` consecutive object numbers of the document and returns the first."""

    __slots__ = ("__weakref__", "font", "objects", "reserve")

    def __init__(self, reserve: Callable[[int], int]) -> None:
        self.font = cjk_font()
        self.reserve = reserve
        self.objects: list[int] = []  # per subset: the font object's number; descriptor, file and map follow it

    def shown(self, size: float, text: str) -> str:
        """Content-stream operators that show ``text`` at ``size`` from the current text position."""
        out = []
        for subset, codes in self.font.splitString(text, self):
            while subset >= len(self.objects):
                self.objects.append(self.reserve(4))
            out.append(f"/C{subset} {size:g} Tf <{codes.hex()}> Tj")
        return " ".join(out)

    def resources(self) -> str:
        """The /Font dictionary naming every subset (written at the end, when all are known)."""
        return "<< " + " ".join(f"/C{i} {obj} 0 R" for i, obj in enumerate(self.objects)) + " >>"

    def finish(self) -> Iterator[tuple[int, bytes]]:
        """Each subset's objects as (number, bytes). The document's codes are then forgotten."""
        state = self.font.state.pop(self, None)
        subsets: list[list[int]] = state.subsets if state is not None and self.objects else []
        face = self.font.face
        for n, (obj, subset) in enumerate(zip(self.objects, subsets, strict=True)):
            name = (SUBSETN(n) + b"+" + face.name).decode("ascii")
            widths = " ".join(f"{face.getCharWidth(code):g}" for code in subset)
            yield (
                obj,
                (
                    f"<< /Type /Font /Subtype /TrueType /BaseFont /{name} /FirstChar 0 /LastChar {len(subset) - 1} "
                    f"/Widths [{widths}] /FontDescriptor {obj + 1} 0 R /ToUnicode {obj + 3} 0 R >>"
                ).encode(),
            )
            yield (
                obj + 1,
                (
                    f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 "  # 4: symbolic, the subset's own codes
                    f"/FontBBox [{' '.join(f'{v:g}' for v in face.bbox)}] /ItalicAngle {face.italicAngle:g} "
                    f"/Ascent {face.ascent:g} /Descent {face.descent:g} /CapHeight {face.capHeight:g} "
                    f"/StemV {face.stemV:g} /MissingWidth {face.defaultWidth:g} /FontFile2 {obj + 2} 0 R >>"
                ).encode(),
            )
            program = subsetter().program(subset)
            # Not compressed: glyph outlines deflate by a quarter only, and that would cost a single label a
            # third of its time (a batch's fonts are a few per cent of its bytes either way).
            yield obj + 2, _stream(program, f"/Length1 {len(program)}", compressed=False)
            yield obj + 3, _stream(zlib.compress(makeToUnicodeCMap(name, subset).encode("ascii"), 6))


def _stream(data: bytes, extra: str = "", *, compressed: bool = True) -> bytes:
    head = f"<< /Length {len(data)}{' /Filter /FlateDecode' if compressed else ''} {extra}".rstrip() + " >>\nstream\n"
    return head.encode() + data + b"\nendstream"
