"""Batch shipping: a batch from a file of order ids, its live progress, its per-order results, its labels."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from waybill_client import WaybillClient
from waybill_client.models import BatchCreate, BatchOut

from cli.api import CliError, ExitCode, connect, handled, request
from cli.commands.labels import Dpi, Format, Out, Printer, Size, checked_format, checked_size, deliver, report
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import console, emit_json, fields, line, next_page, read_list, table

batches = typer.Typer(help="Batch shipping.", no_args_is_help=True)
BatchId = Annotated[str, typer.Argument(help="The batch's id (from `batch ship` or `batch list`).")]
Wait = Annotated[bool, typer.Option(help="Follow the batch with a live progress bar until it completes.")]
POLL_S = 0.5
SUMMARY = ("id", "status", "total", "done", "failed", "skipped", "pending")


def _order_ids(order_ids: list[str] | None, file: Path | None) -> list[str]:
    ids = list(order_ids or [])
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(ExitCode.USAGE, "invalid_input", f"cannot read {file}: {exc.strerror}") from None
        # One id per line; blank lines and # comments are skipped (a file kept by hand).
        ids += [s for s in (raw.split("#", 1)[0].strip() for raw in text.splitlines()) if s]
    if not ids:
        raise CliError(ExitCode.USAGE, "invalid_input", "no order ids given (as arguments or with --file)")
    return ids


def _finished(batch: BatchOut) -> bool:
    return batch.status == "completed" or batch.done + batch.failed + batch.skipped >= batch.total


def _follow(client: WaybillClient, batch: BatchOut, *, bar: bool) -> BatchOut:
    """The batch once it completed, asked every POLL_S; with a live progress bar when ``bar``."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=not sys.stdout.isatty(), disable=not bar) as progress:
        task = progress.add_task("shipping", total=batch.total)
        while True:
            batch = client.get_batch(batch.id, limit=0)
            finished = batch.done + batch.failed + batch.skipped
            progress.update(task, completed=finished, description=f"shipping (failed {batch.failed})")
            if _finished(batch):
                break
            time.sleep(POLL_S)
    if bar:
        line(f"progress: {finished}/{batch.total} (done {batch.done}, failed {batch.failed})")
    return batch


def _summary(batch: BatchOut, as_json: bool) -> None:
    if as_json:
        emit_json(batch)
    else:
        fields({k: getattr(batch, k) for k in SUMMARY})
    if batch.failed:
        raise typer.Exit(int(ExitCode.FAILED))


OrderIds = Annotated[list[str] | None, typer.Argument(help="Order ids (or --file).")]
OrderFile = Annotated[Path | None, typer.Option(help="A file with one order id per line (# comments).")]
OneCarrier = Annotated[str | None, typer.Option(help="One carrier for all; recommended per order when absent.")]


def _create(
    client: WaybillClient, order_ids: list[str] | None, file: Path | None, carrier: str | None, as_json: bool
) -> BatchOut:
    ids = _order_ids(order_ids, file)
    body = request(BatchCreate, **({"order_ids": ids, "carrier": carrier} if carrier else {"order_ids": ids}))
    batch = client.create_batch(body)
    if not as_json:
        line(f"batch {batch.id}: {batch.total} orders")
    return batch


@batches.command("ship")
@handled
def batch_ship(
    order_ids: OrderIds = None,
    file: OrderFile = None,
    carrier: OneCarrier = None,
    wait: Wait = True,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Ship many orders in one batch (up to 10,000), with a live progress bar. Exits 1 when orders failed."""
    with connect(profile) as client:
        batch = _create(client, order_ids, file, carrier, as_json)
        if wait:
            batch = _follow(client, batch, bar=not as_json)
    _summary(batch, as_json)


@batches.command("create")
@handled
def batch_create(
    order_ids: OrderIds = None,
    file: OrderFile = None,
    carrier: OneCarrier = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Start a batch and return at once (`batch ship --no-wait`); follow it with `batch progress`."""
    with connect(profile) as client:
        batch = _create(client, order_ids, file, carrier, as_json)
    if as_json:
        emit_json(batch)
    else:
        line(f"follow it with: waybill batch progress {batch.id}")


@batches.command("list")
@handled
def batch_list(
    limit: Annotated[int, typer.Option(min=1, max=500, help="Batches per page.")] = 20,
    cursor: Cursor = None,
    every: Every = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """The shop's batches, newest first, a page at a time, each with its progress."""
    with connect(profile) as client:
        page = read_list(every, client.iter_batches, client.list_batches, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    columns = ["id", "carrier", "status", "total", "done", "failed", "skipped", "pending", "created_at"]
    table("batches", page.data, columns)
    next_page(page.has_more, page.next_cursor)


@batches.command("status")
@handled
def batch_status(batch_id: BatchId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """A batch's progress, now."""
    with connect(profile) as client:
        batch = client.get_batch(batch_id, limit=0)
    if as_json:
        emit_json(batch)
    else:
        fields({k: v for k, v in dict(batch).items() if k != "items"})


@batches.command("progress")
@handled
def batch_progress(batch_id: BatchId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Follow a batch with a live progress bar until it completes. Exits 1 when orders failed."""
    with connect(profile) as client:
        batch = _follow(client, client.get_batch(batch_id, limit=0), bar=not as_json)
    _summary(batch, as_json)


@batches.command("items")
@handled
def batch_items(
    batch_id: BatchId,
    status: Annotated[
        str | None, typer.Option(help="Only results in this state (failed, shipped, skipped, pending).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Results per page.")] = 100,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """A batch's per-order results, in the order of the batch, a page at a time."""
    with connect(profile) as client:
        page = read_list(
            every, client.iter_batch_items, client.list_batch_items, batch_id, status=status, limit=limit, cursor=cursor
        )
    if as_json:
        emit_json(page)
        return
    columns = ["seq", "order_id", "status", "number", "shipment_id", "message"]
    table(f"batch {batch_id}", page.data, columns if wide else [c for c in columns if c != "seq"])
    next_page(page.has_more, page.next_cursor)


@batches.command("labels")
@handled
def batch_labels(
    batch_id: BatchId,
    out: Out = None,
    printer: Printer = None,
    size: Size = None,
    fmt: Format = "pdf",
    dpi: Dpi = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Every label of a batch in one PDF (or one ZPL job): to a file (BATCH_ID.pdf by default), or to a
    printer."""
    size = checked_size(size)
    fmt, dpi = checked_format(fmt, dpi)
    with connect(profile) as client:
        if fmt == "zpl":
            data = client.get_batch_labels_zpl(batch_id, size=size, dpi=dpi)
        else:
            data = client.get_batch_labels(batch_id, size=size)
    where = Path(f"{batch_id}.{fmt}")
    report(deliver(data, out, printer, where, raw=fmt == "zpl"), f"batch {batch_id}'s labels", as_json)
