"""TrueType subsets for a PDF's FontFile2, cut from a font reportlab has parsed: the glyphs of up to 256 codes in
the file reportlab's own ``TTFontFile.makeSubset`` writes, byte for byte (the tests hold it to that).

It is here for speed, since every single label cuts its own subset: each glyph's bytes (and a composite's parts)
are read once per process, and there is no shared read position, so documents on any thread cut theirs at once.
"""

from __future__ import annotations

from functools import lru_cache
from struct import pack, unpack_from
from typing import Any

from reportlab.lib.rl_accel import add32, calcChecksum

_COPIED = ("name", "OS/2", "cvt ", "fpgm", "prep")  # as they are, where the font has them
# Composite glyph flags (TrueType 'glyf'): what follows each component's glyph index.
_ARGS_ARE_WORDS, _HAS_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080


class Subsetter:
    """Cuts subsets of one parsed font face (``reportlab.pdfbase.ttfonts.TTFontFace``)."""

    def __init__(self, face: Any) -> None:
        self.data: bytes = face._ttf_data
        self.glyf = face.table["glyf"]["offset"]
        self.pos: list[int] = face.glyphPos
        self.hmetrics: list[tuple[float, float]] = face.hmetrics
        self.char_to_glyph: dict[int, int] = face.charToGlyph
        self.tables = {tag: face.get_table(tag) for tag in _COPIED if tag in face.table}
        self.tables["post"] = b"\x00\x03\x00\x00" + face.get_table("post")[4:16] + b"\0" * 16  # version 3: no names
        self.head = face.get_table("head")
        self.hhea = face.get_table("hhea")
        self.maxp = face.get_table("maxp")
        self.glyph = lru_cache(maxsize=65536)(self._glyph)

    def _glyph(self, gid: int) -> tuple[bytes, tuple[tuple[int, int], ...]]:
        """A glyph's bytes and, for a composite, each component's (offset of its index, glyph index)."""
        start, end = self.pos[gid], self.pos[gid + 1]
        data = self.data[self.glyf + start : self.glyf + end]
        if len(data) < 10 or unpack_from(">h", data)[0] >= 0:
            return data, ()
        parts = []
        at, flags = 10, _MORE
        while flags & _MORE:
            flags, component = unpack_from(">HH", data, at)
            parts.append((at + 2, component))
            at += 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
            at += 2 if flags & _HAS_SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
        return data, tuple(parts)

    def program(self, codes: list[int]) -> bytes:
        """The font program for ``codes`` (the subset's code -> Unicode, as reportlab allocates them): code i
        draws the glyph of codes[i]; glyph 0 stays the missing-character glyph."""
        glyph_map = [0]  # new glyph -> old
        new_of = {0: 0}
        code_glyphs = []
        for code in codes:
            old = self.char_to_glyph.get(code, 0)
            if old not in new_of:
                new_of[old] = len(glyph_map)
                glyph_map.append(old)
            code_glyphs.append(new_of[old])
        n = 0
        while n < len(glyph_map):  # composites' parts join the subset (and may have parts of their own)
            for _, part in self.glyph(glyph_map[n])[1]:
                if part not in new_of:
                    new_of[part] = len(glyph_map)
                    glyph_map.append(part)
            n += 1

        glyf, offsets, at = [], [], 0
        for old in glyph_map:
            data, parts = self.glyph(old)
            if parts:
                patched = bytearray(data)
                for where, part in parts:
                    patched[where : where + 2] = pack(">H", new_of[part])
                data = bytes(patched)
            offsets.append(at)
            glyf.append(data)
            at += len(data)
            if at % 4:
                glyf.append(b"\0" * (4 - at % 4))
                at += 4 - at % 4
        offsets.append(at)
        long_loca = at >> 1 > 0xFFFF
        if long_loca:
            loca = pack(f">{len(offsets)}L", *offsets)
        else:
            loca = pack(f">{len(offsets)}H", *(o >> 1 for o in offsets))

        metrics = [self.hmetrics[old] for old in glyph_map]
        full = len(metrics)  # trailing glyphs of one advance keep only their left side bearing
        while full > 1 and metrics[full - 1][0] == metrics[full - 2][0]:
            full -= 1
        hmtx = pack(
            f">{2 * full + len(metrics) - full}H",
            *(int(v) & 0xFFFF for aw, lsb in metrics[:full] for v in (aw, lsb)),
            *(int(lsb) & 0xFFFF for _, lsb in metrics[full:]),
        )
        # cmap: one (1, 0) subtable of format 6 mapping the subset's codes 0.. to their glyphs
        cmap = pack(f">HHHHLHHHHH{len(codes)}H", 0, 1, 1, 0, 12, 6, 10 + 2 * len(codes), 0, 0, len(codes), *code_glyphs)
        tables = {
            **self.tables,
            "cmap": cmap,
            "glyf": b"".join(glyf),
            "head": self.head[:8] + b"\0\0\0\0" + self.head[12:50] + pack(">H", long_loca) + self.head[52:],
            "hhea": self.hhea[:34] + pack(">H", full) + self.hhea[36:],
            "hmtx": hmtx,
            "loca": loca,
            "maxp": self.maxp[:4] + pack(">H", len(glyph_map)) + self.maxp[6:],
        }
        return _sfnt(tables)


def _sfnt(tables: dict[str, bytes]) -> bytes:
    """The font file: directory (tables sorted by tag, each checksummed, 4-byte aligned), then the tables, with
    head's checksum adjustment over the whole."""
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    out = [pack(">LHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)]
    offset = 12 + 16 * count
    body = []
    head_at = 0
    for tag in sorted(tables):
        data = tables[tag]
        if tag == "head":
            head_at = offset
        out.append(tag.encode("latin-1") + pack(">LLL", calcChecksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(b"".join(out) + b"".join(body))
    font[head_at + 8 : head_at + 12] = pack(">L", add32(0xB1B0AFBA, -calcChecksum(bytes(font))))
    return bytes(font)
