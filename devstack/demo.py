"""`make demo`: a seller's day driven through the running system's public APIs (start `make run` first).

Today it covers the allocation side end to end against the sandbox couriers: a shop, its balance,
packages bought from three carriers, numbers allocated to orders, and the invariants checked at the
end. It exits non-zero if an invariant breaks.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from devstack.processes import Ports

console = Console()
CARRIERS = [("ZTO", "ZTO-5000"), ("YTO", "YTO-5000"), ("YUNDA", "YUNDA-5000")]


class DemoError(Exception):
    pass


def _check(resp: httpx.Response, *ok: int) -> Any:
    if resp.status_code not in (ok or (200,)):
        try:
            err = resp.json()["error"]
            raise DemoError(
                f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {err['code']}: {err['message']}"
            )
        except (ValueError, KeyError):
            raise DemoError(
                f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {resp.text[:200]}"
            ) from None
    return resp.json() if resp.content else None


def wait_healthy(urls: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"{url} is not answering: start the system with `make run` first")
            time.sleep(1)


def main() -> int:
    ports = Ports()
    allocation = f"http://127.0.0.1:{ports.allocation}"
    admin = {"Authorization": f"Bearer {os.environ.get('WAYBILL_ADMIN_KEY', 'dev-admin-key')}"}
    started = time.monotonic()
    try:
        wait_healthy([allocation])
        with httpx.Client(base_url=allocation, timeout=30) as api:
            shop = _check(api.post("/v1/shops", json={"name": "演示店铺 demo shop"}, headers=admin), 201)
            console.print(f"shop [bold]{shop['id']}[/] created; its API key is shown once")
            me = {"Authorization": f"Bearer {shop['api_key']}"}
            _check(api.post(f"/v1/shops/{shop['id']}/topups", json={"amount_cents": 10_000_000}, headers=admin), 201)
            purchases = []
            for carrier, package in CARRIERS:
                body = {"carrier": carrier, "package_id": package}
                headers = {**me, "Idempotency-Key": f"demo-{uuid.uuid4().hex}"}
                purchases.append(_check(api.post("/v1/purchases", json=body, headers=headers), 202))
            with Progress(console=console) as progress:
                task = progress.add_task("couriers issuing numbers", total=len(purchases))
                pending = {p["id"] for p in purchases}
                deadline = time.monotonic() + 120
                while pending and time.monotonic() < deadline:
                    for pid in list(pending):
                        p = _check(api.get(f"/v1/purchases/{pid}", headers=me))
                        if p["status"] != "pending":
                            pending.discard(pid)
                            progress.advance(task)
                            if p["status"] != "completed":
                                raise DemoError(f"purchase {pid} {p['status']}: {p['error']}")
                    time.sleep(0.5)
                if pending:
                    raise DemoError(f"purchases still pending after 120 s: {sorted(pending)}")
            orders = [f"demo-{uuid.uuid4().hex[:12]}" for _ in range(300)]
            numbers: list[str] = []
            for i, (carrier, _) in enumerate(CARRIERS):
                chunk = orders[i * 100 : (i + 1) * 100]
                got = _check(
                    api.post("/v1/allocations/batch", json={"carrier": carrier, "order_ids": chunk}, headers=me)
                )
                numbers += [a["number"] for a in got["allocations"]]
            again = _check(api.post("/v1/allocations", json={"carrier": "ZTO", "order_id": orders[0]}, headers=me))
            pools = _check(api.get("/v1/pools", headers=me))
            balance = _check(api.get("/v1/balance", headers=me))
    except (DemoError, httpx.HTTPError) as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1

    table = Table(title="numbers by state per carrier")
    for col in (
        "carrier",
        "available",
        "allocated",
        "printed",
        "shipped",
        "voided",
        "expired",
        "quarantined",
        "expiring soon",
    ):
        table.add_column(col, justify="right")
    for p in pools:
        c = p["counts"]
        table.add_row(
            p["carrier"],
            *(str(c[k]) for k in ("available", "allocated", "printed", "shipped", "voided", "expired", "quarantined")),
            str(p["expiring_soon"]),
        )
    console.print(table)
    console.print(f"balance ¥{balance['balance_cents'] / 100:,.2f}; took {time.monotonic() - started:.1f} s")

    broken = []
    if len(set(numbers)) != len(numbers):
        broken.append("a number was allocated to two orders")
    if again["number"] != numbers[0]:
        broken.append("asking again for an order returned a different number")
    if balance["ledger_total_cents"] != balance["balance_cents"]:
        broken.append("the ledger does not sum to the balance")
    if broken:
        for b in broken:
            console.print(f"[red]invariant broken:[/] {b}")
        return 1
    console.print("[green]invariants hold[/]: one number per order, idempotent allocation, ledger = balance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
