"""A strict reader of the ZPL II we emit: every command must be one of the table below, with parameters in the
ranges the ZPL II Programming Guide (Vol. 1, Command Reference; Vol. 2, ch. "ZB64 Encoding and Compression")
gives, in a valid place (format commands inside ^XA..^XZ, field commands inside ^FO..^FS), and every recalled
graphic downloaded before and not deleted since. Anything else fails: an unknown command, a stray ^ or ~ from
field data, a bad CRC, a graphic whose byte count does not match its data."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

_INT = r"(0|[1-9][0-9]*)"
_NAME = r"[A-Z0-9]{1,8}"  # object names: 1 to 8 alphanumeric characters (8.3 names)
_DEVICE = r"(R|E|B|A):"


def _ints(*ranges: tuple[int, int]) -> Callable[[str], bool]:
    """Comma-separated integers, each in its range."""

    def check(params: str) -> bool:
        parts = params.split(",")
        if len(parts) != len(ranges) or not all(re.fullmatch(_INT, p) for p in parts):
            return False
        return all(lo <= int(p) <= hi for p, (lo, hi) in zip(parts, ranges, strict=True))

    return check


def _gb(params: str) -> bool:
    # ^GBw,h,t: w and h from t to 32000, t from 1 to 32000
    if not _ints((1, 32000), (1, 32000), (1, 32000))(params):
        return False
    w, h, t = map(int, params.split(","))
    return w >= t and h >= t


def _by(params: str) -> bool:
    # ^BYw,r,h: module width 1-10 dots, wide-to-narrow ratio 2.0-3.0 in 0.1 steps, bar height in dots
    m = re.fullmatch(r"([1-9]|10),([23](\.[0-9])?),([1-9][0-9]*)", params)
    return m is not None and 2.0 <= float(m.group(2)) <= 3.0 and int(m.group(4)) <= 32000


def _bc(params: str) -> bool:
    # ^BCo,h,f,g,e,m: orientation N/R/I/B, height 1-32000, interpretation line Y/N, above Y/N, UCC check digit
    # Y/N, mode N/U/A/D
    m = re.fullmatch(r"[NRIB],([1-9][0-9]*),[YN],[YN],[YN],[NUAD]", params)
    return m is not None and int(m.group(1)) <= 32000


def _xg(params: str) -> bool:
    # ^XGd:o.x,mx,my: a stored graphic, magnification 1-10 on each axis
    return bool(re.fullmatch(rf"{_DEVICE}{_NAME}\.GRF,([1-9]|10),([1-9]|10)", params))


def _id(params: str) -> bool:
    # ^IDd:o.x: a name of 1-8 characters, * as a wildcard; a 3-letter extension
    return bool(re.fullmatch(r"(R|E|B):[A-Z0-9*]{1,8}\.[A-Z]{3}", params))


def _fh(params: str) -> bool:
    return params == "_"  # the hex indicator we use (the default)


def _a_at(params: str) -> bool:
    # ^A@o,h,w,d:f.x: a font by name; orientation N/R/I/B, height and width 10-32000 dots
    m = re.fullmatch(r"[NRIB],([1-9][0-9]*),([1-9][0-9]*),[A-Z]:[A-Z0-9_]{1,16}\.(TTF|TTE|FNT)", params)
    return m is not None and all(10 <= int(v) <= 32000 for v in m.groups()[:2])


def _fd(params: str) -> bool:
    return 0 < len(params.encode()) <= 3072  # field data: up to 3072 bytes


# code: (prefix, parameter check, where it may stand)
COMMANDS: dict[str, tuple[str, Callable[[str], bool], str]] = {
    "XA": ("^", lambda p: p == "", "outside"),  # start of a format
    "XZ": ("^", lambda p: p == "", "format"),  # end of a format
    "CI": ("^", lambda p: p == "28", "format"),  # ^CIa, a = 0-36: 28 is UTF-8
    "PW": ("^", _ints((2, 32000)), "format"),  # print width in dots
    "LL": ("^", _ints((1, 32000)), "format"),  # label length in dots
    "LH": ("^", _ints((0, 32000), (0, 32000)), "format"),  # label home
    "FO": ("^", _ints((0, 32000), (0, 32000)), "format"),  # field origin: opens a field
    "FT": ("^", _ints((0, 32000), (0, 32000)), "format"),  # field typeset (text by its baseline): opens one too
    "FS": ("^", lambda p: p == "", "field"),  # field separator: closes it
    "GB": ("^", _gb, "field"),
    "BY": ("^", _by, "format"),  # barcode defaults
    "BC": ("^", _bc, "field"),
    "FH": ("^", _fh, "field"),
    "FD": ("^", _fd, "field"),
    "XG": ("^", _xg, "field"),
    "ID": ("^", _id, "format"),
    "A@": ("^", _a_at, "field"),
    "DG": ("~", lambda p: True, "outside"),  # checked by _download
    "DU": ("~", lambda p: True, "outside"),  # checked by _download
}


_COMMAND = r"([\^~])([A-Z][A-Z0-9@])([^\^~]*)"


@dataclass
class Parsed:
    commands: list[tuple[str, str]] = field(default_factory=list)  # (prefix + code, parameters)
    formats: int = 0
    downloads: dict[str, bytes] = field(default_factory=dict)  # every ~DG: name -> bitmap
    field_data: list[str] = field(default_factory=list)  # every ^FD's data, ^FH escapes decoded


class ZplError(AssertionError):
    pass


def _download(params: str, code: str = "DG") -> tuple[str, bytes]:
    """~DGd:o.x,t,w,data: t total bytes, w bytes per row; ~DUd:o.x,s,data: a font file of s bytes. Data as hex
    (2 digits a byte) or :Z64:/:B64: with the CRC-16 of the base64 text."""
    if code == "DU":
        m = re.fullmatch(rf"{_DEVICE}([A-Z0-9_]{{1,16}})\.(TTF|TTE),([1-9][0-9]*),(.+)", params, re.S)
        if not m:
            raise ZplError(f"~DU parameters: {params[:60]!r}")
        name, total, data = m.group(2), int(m.group(4)), m.group(5)
    else:
        m = re.fullmatch(rf"{_DEVICE}({_NAME})\.GRF,([1-9][0-9]*),([1-9][0-9]*),(.+)", params, re.S)
        if not m:
            raise ZplError(f"~DG parameters: {params[:60]!r}")
        name, total, row, data = m.group(2), int(m.group(3)), int(m.group(4)), m.group(5)
        if total % row:
            raise ZplError(f"~DG {name}: {total} bytes is not whole rows of {row}")
    z = re.fullmatch(r":(Z64|B64):([A-Za-z0-9+/=]+):([0-9A-F]{4})", data)
    if z:
        if f"{binascii.crc_hqx(z.group(2).encode(), 0):04X}" != z.group(3):
            raise ZplError(f"~DG {name}: CRC mismatch")
        raw = base64.b64decode(z.group(2), validate=True)
        bitmap = zlib.decompress(raw) if z.group(1) == "Z64" else raw
    elif re.fullmatch(r"[0-9A-F]+", data) and len(data) == 2 * total:
        bitmap = bytes.fromhex(data)
    else:
        raise ZplError(f"~DG {name}: data is neither hex nor ZB64")
    if len(bitmap) != total:
        raise ZplError(f"~DG {name}: {len(bitmap)} bytes of data, {total} declared")
    return name, bitmap


def _unescape(data: str) -> str:
    if re.search(r"_(?![0-9A-Fa-f]{2})", data):
        raise ZplError(f"^FH data with a bad escape: {data!r}")
    raw = re.sub(rb"_([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data.encode())
    return raw.decode()


def parse(zpl: bytes) -> Parsed:
    text = zpl.decode()  # ^CI28: field data is UTF-8
    out = Parsed()
    state = "outside"
    escaped = False
    stored: set[str] = set()
    for m in re.finditer(_COMMAND, text):
        prefix, code, params = m.groups()
        params = params.removesuffix("\n")  # line breaks between commands only: none inside one
        if "\n" in params or "\r" in params:
            raise ZplError(f"a line break inside {prefix}{code}")
        spec = COMMANDS.get(code)
        if spec is None or spec[0] != prefix:
            raise ZplError(f"unknown command {prefix}{code}")
        _, check, where = spec
        if code in ("DG", "DU"):
            name, bitmap = _download(params, code)
            out.downloads[name] = bitmap
            stored.add(name)
        elif not check(params):
            raise ZplError(f"{prefix}{code} with bad parameters {params[:60]!r}")
        if where == "outside" and state != "outside":
            raise ZplError(f"{prefix}{code} inside a format")
        if where == "format" and state == "outside":
            raise ZplError(f"{prefix}{code} outside a format")
        if where == "field" and state != "field" and not (code == "FS" and state == "deleted"):
            raise ZplError(f"{prefix}{code} outside a field")
        if code == "XA":
            state = "format"
        elif code == "XZ":
            if state != "format":
                raise ZplError("^XZ with a field open")
            state = "outside"
            out.formats += 1
        elif code in ("FO", "FT"):
            if state != "format":
                raise ZplError(f"^{code} with a field open")
            state, escaped = "field", False
        elif code == "FS":
            state = "format"
        elif code == "FH":
            escaped = True
        elif code == "FD":
            out.field_data.append(_unescape(params) if escaped else params)
        elif code == "XG":
            name = params.split(":")[1].split(".")[0]
            if name not in stored:
                raise ZplError(f"^XG of {name}, never downloaded (or deleted since)")
        elif code == "ID":
            pattern = params.split(":")[1].split(".")[0]
            stored = {n for n in stored if not fnmatch.fnmatchcase(n, pattern)}
            state = "deleted"  # its ^FS follows, as in the Guide's examples
        out.commands.append((prefix + code, params))
    leftover = re.sub(_COMMAND, "", text)
    if leftover.strip("\n"):
        raise ZplError(f"text outside any command: {leftover[:60]!r}")
    if state != "outside":
        raise ZplError("the document ends inside a format")
    return out
