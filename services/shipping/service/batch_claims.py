"""Step 1 of a batch chunk: its paid orders become the batch's (waybill_assigned, each with its carrier);
the others are skipped or failed with the reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from runtime.errors import AppError
from services.shipping import states
from services.shipping.channels.registry import Channels
from services.shipping.models import ItemStatus, Order, ShopSettings, Store
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.service.batches import BatchRun, ItemResult, count_results
from services.shipping.service.courier_choice import recommend
from services.shipping.service.order_holds import held_reason
from services.shipping.service.orders import transition_many
from services.shipping.service.shipments import drop_kept_number
from services.shipping.service.stores import access
from services.shipping.states import Change, OrderEvent


async def claim_orders(run: BatchRun, chunk_no: int) -> None:
    async with run.res.transaction() as uow:
        repo = BatchRepository(uow.session)
        items = [i for i in await repo.chunk_items(run.batch_id, chunk_no) if i.status == ItemStatus.PENDING]
        if not items:
            return
        orders_repo = OrderRepository(uow.session)
        # Only the batch's shop's orders: another shop's id reads as absent.
        orders = await orders_repo.lock_many([i.order_id for i in items], shop_id=run.shop_id)
        shop = await SettingsRepository(uow.session).get(run.shop_id)
        stores = await StoreRepository(uow.session).by_ids(sorted({o.store_id for o in orders.values() if o.store_id}))
        carriers = await _carriers(run, [orders[i.order_id] for i in items if i.order_id in orders], shop)
        results: list[ItemResult] = []
        claimed: list[Change[Order]] = []
        taken: list[int] = []
        for item in items:
            order = orders.get(item.order_id)
            refused = _not_claimable(item.seq, order, stores, carriers)
            if refused is not None:
                results.append(refused)
                continue
            assert order is not None
            drop_kept_number(uow, order, carriers[order.id], typed=False)
            order.carrier = carriers[order.id]
            claimed.append(Change(order, f"batch {run.batch_id}"))
            taken.append(item.seq)
        await transition_many(orders_repo, OrderEvent.ASSIGN_WAYBILL, claimed)
        await repo.set_item_rows(run.batch_id, [r.row() for r in results])
        count_results(results)
        await repo.set_items(run.batch_id, taken, status=ItemStatus.SHIPPING)


async def _carriers(run: BatchRun, orders: Sequence[Order], shop: ShopSettings | None) -> dict[str, str]:
    """The carrier of each order: the batch's, or the one recommended for its province (asked once per
    province); an order no carrier can ship is left out."""
    if run.carrier:
        return {o.id: run.carrier for o in orders}
    out: dict[str, str] = {}
    by_province: dict[str, str | None] = {}
    for o in orders:
        if o.receiver_state not in by_province:
            try:
                by_province[o.receiver_state] = await recommend(run.res.allocation, run.shop_id, shop, o.receiver_state)
            except AppError:
                by_province[o.receiver_state] = None
        chosen = by_province[o.receiver_state]
        if chosen:
            out[o.id] = chosen
    return out


def _not_claimable(
    seq: int, order: Order | None, stores: Mapping[str, Store], carriers: dict[str, str]
) -> ItemResult | None:
    """Why an order cannot be the batch's (None: it can)."""
    if order is None:
        return ItemResult(seq, ItemStatus.FAILED, "order not found")
    if not states.can(order.status, OrderEvent.ASSIGN_WAYBILL):
        reason = f"order is {order.status}" + (f" ({order.number})" if order.number else "")
        return ItemResult(seq, ItemStatus.SKIPPED, reason)
    if order.held is not None:
        # Held (its address failed the checks): skipped, not failed, so a batch sent again ships it once fixed.
        return ItemResult(seq, ItemStatus.SKIPPED, f"{order.held}: {held_reason(order)}")
    if not Channels.is_own(order.channel) and access(stores.get(order.store_id or "")) is None:
        return ItemResult(
            seq, ItemStatus.FAILED, f"the order's {order.channel} store is unbound or holds no authorisation"
        )
    if order.id not in carriers:
        return ItemResult(seq, ItemStatus.FAILED, "no carrier with stock covers it")
    return None
