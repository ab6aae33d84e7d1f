"""Labels (PDF, or ZPL for Zebra-language printers): written to a file, or sent to a printer queue through CUPS'
`lp` (ZPL as raw data, for the printer itself to read)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.api import CliError, ExitCode, connect, handled
from cli.options import JsonOut, Profile
from cli.output import emit_json, line

Out = Annotated[
    Path | None, typer.Option("--out", "-o", help="Where to write the file (label.pdf or label.zpl by default).")
]
Printer = Annotated[
    str | None, typer.Option("--printer", help="Print on this queue (`lp -d QUEUE`) instead of writing a file.")
]
Size = Annotated[
    str | None,
    typer.Option(
        "--size", help="This print's label size: 100x150, 100x180 or 76x130 (the shop's for the carrier if not given)."
    ),
]
Format = Annotated[
    str, typer.Option("--format", help="pdf (any printer driver) or zpl (ZPL II, sent raw to a Zebra printer).")
]
Dpi = Annotated[int | None, typer.Option("--dpi", help="zpl: the printer's dots per inch, 203 or 300 (203).")]
LP_TIMEOUT_S = 60.0
FORMATS = ("pdf", "zpl")
DPIS = (203, 300)


def deliver(pdf: bytes, out: Path | None, printer: str | None, default: Path, *, raw: bool = False) -> dict[str, Any]:
    """Write ``pdf`` to ``out`` (``default`` when neither is given), or pipe it to ``lp -d printer`` (``raw``:
    with ``-o raw``, the printer reads it itself, as ZPL needs); what was done, for `--json`."""
    if printer is None:
        path = out or default
        path.write_bytes(pdf)
        return {"path": str(path), "bytes": len(pdf)}
    if out is not None:
        raise CliError(ExitCode.USAGE, "invalid_input", "--out and --printer: give one of them")
    lp = shutil.which("lp")
    if lp is None:
        raise CliError(ExitCode.FAILED, "no_lp", "`lp` not found: install CUPS' client (cups-client) to print")
    try:
        command = [lp, "-d", printer, *(["-o", "raw"] if raw else [])]
        done = subprocess.run(command, input=pdf, capture_output=True, timeout=LP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise CliError(
            ExitCode.FAILED, "print_failed", f"lp -d {printer} did not finish in {LP_TIMEOUT_S:.0f} s"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise CliError(ExitCode.FAILED, "print_failed", f"lp -d {printer}: {said}")
    # lp says "request id is QUEUE-42 (1 file(s))": the job to look for in lpstat.
    return {"printer": printer, "bytes": len(pdf), "lp": done.stdout.decode(errors="replace").strip()}


def report(done: dict[str, Any], what: str, as_json: bool) -> None:
    if as_json:
        emit_json(done)
    elif "path" in done:
        line(f"wrote {done['path']} ({done['bytes']:,} bytes)")
    else:
        line(f"sent {what} to printer {done['printer']} ({done['bytes']:,} bytes): {done['lp']}".rstrip(": "))


LABEL_SIZES = ("100x150", "100x180", "76x130")


def checked_size(size: str | None) -> str | None:
    if size is not None and size not in LABEL_SIZES:
        raise CliError(ExitCode.USAGE, "invalid_input", f"--size {size!r}: one of {', '.join(LABEL_SIZES)}")
    return size


def checked_format(fmt: str, dpi: int | None) -> tuple[str, Any]:
    """The format and, for ZPL, its dot density (the API's 203 unless given)."""
    if fmt not in FORMATS:
        raise CliError(ExitCode.USAGE, "invalid_input", f"--format {fmt!r}: pdf or zpl")
    if dpi is not None and (fmt != "zpl" or dpi not in DPIS):
        raise CliError(ExitCode.USAGE, "invalid_input", f"--dpi {dpi}: 203 or 300, with --format zpl")
    return fmt, dpi


@handled
def label(
    shipment_id: str,
    out: Out = None,
    printer: Printer = None,
    batch: Annotated[bool, typer.Option(help="SHIPMENT_ID is a batch id: all its labels in one PDF.")] = False,
    parcel: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Only this parcel's label (1, 2...: `shipments show`), to reprint one box."),
    ] = None,
    size: Size = None,
    fmt: Format = "pdf",
    dpi: Dpi = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """A shipment's labels (a page per parcel), one parcel's, or a batch's, as PDF or ZPL: to a file, or to a
    printer."""
    if batch and parcel is not None:
        raise CliError(ExitCode.USAGE, "invalid_input", "--batch and --parcel: a parcel is a shipment's")
    size = checked_size(size)
    fmt, dpi = checked_format(fmt, dpi)
    with connect(profile) as client:
        if fmt == "zpl":
            if batch:
                data = client.get_batch_labels_zpl(shipment_id, size=size, dpi=dpi)
            elif parcel is not None:
                data = client.get_parcel_label_zpl(shipment_id, parcel, size=size, dpi=dpi)
            else:
                data = client.get_shipment_label_zpl(shipment_id, size=size, dpi=dpi)
        elif batch:
            data = client.get_batch_labels(shipment_id, size=size)
        elif parcel is not None:
            data = client.get_parcel_label(shipment_id, parcel, size=size)
        else:
            data = client.get_shipment_label(shipment_id, size=size)
    what = f"parcel {parcel}'s label" if parcel is not None else "the label"
    report(deliver(data, out, printer, Path(f"label.{fmt}"), raw=fmt == "zpl"), what, as_json)
