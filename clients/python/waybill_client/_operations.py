"""Every public operation of the three services, once, for both clients (see ``_endpoints``).

tests/unit/client/test_operations.py holds this list to the OpenAPI documents: every public operation id has
a method here of the same HTTP method and path, with the operation's parameters, body and answer model.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from waybill_client._endpoints import operation, pages
from waybill_client._spec import Replay
from waybill_client.models import (
    AlertKind,
    AlertOut,
    AlertSettingIn,
    AlertSettingOut,
    AlertState,
    AllocateRequest,
    Allocation,
    AutoShipRuleIn,
    AutoShipRuleOut,
    AutoShipRuleUpdate,
    BalanceOut,
    BatchAllocateRequest,
    BatchAllocation,
    BatchCreate,
    BatchMarkRequest,
    BatchMarkResult,
    BatchOut,
    CarrierCode,
    CarrierOut,
    CarrierUpdate,
    ChangeNumbersRequest,
    DryRunOut,
    ExpirySettingsIn,
    ExpirySettingsOut,
    ExtendOut,
    ExtendRequest,
    KeyCreate,
    KeyCreated,
    LabelDpi,
    LabelSize,
    ManualWaybillRequest,
    MarkRequest,
    OrderAlertOut,
    OrderCreate,
    OrderOut,
    OrderTrackingOut,
    PackageCreate,
    PackageOut,
    PageAlertOut,
    PageAlertSettingOut,
    PageAutoShipRuleOut,
    PageAutoShipRunOut,
    PageBatchItemOut,
    PageBatchSummaryOut,
    PageCarrierOptionOut,
    PageCarrierOut,
    PageOrderAlertOut,
    PageOrderEventOut,
    PageOrderOut,
    PagePoolOut,
    PagePurchaseOut,
    PageShipmentOut,
    PageShopOut,
    PageShopPriceOut,
    PageStockEventOut,
    PageStoreOut,
    PageWebhookDeliveryOut,
    PageWebhookEndpointOut,
    PoolOut,
    PoolUpdate,
    PurchaseCreate,
    PurchaseOut,
    Receiver,
    Recipient,
    RecipientUpdated,
    RefundOut,
    RefundRequest,
    ReleaseRequest,
    ReleaseResult,
    RoutesRequest,
    RoutesResult,
    SettingsIn,
    SettingsOut,
    ShipmentOut,
    ShipRequest,
    ShopCreate,
    ShopCreated,
    ShopOut,
    ShopPriceCreate,
    ShopPriceOut,
    SpendGroup,
    SpendInterval,
    SpendReport,
    StoreIn,
    StoreOut,
    StoreUpdate,
    TopupRequest,
    TrackingOut,
    VoidRequest,
    WaybillInfo,
    WebhookDeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)

# The channels a filter names. The API's schemas declare them inline (no named model to import); like the
# generated enums, another value the API may add later is still passed through.
OrderChannel = Literal["own", "taobao", "pinduoduo"] | str
StoreChannel = Literal["taobao", "pinduoduo"] | str
OrderSort = Literal["created_at", "ship_by"] | str
OrderAlertKind = (
    Literal[
        "late_to_ship",
        "ship_by_passed",
        "not_collected_by_ship_by",
        "address_change_after_collection",
        "address_invalid",
    ]
    | str
)
OrderAlertState = Literal["open", "acknowledged", "resolved"] | str


class Operations:
    """The API's operations; ``WaybillClient`` and ``AsyncWaybillClient`` are this class over a transport.

    Paged lists (``list_orders``...) answer one page (``data``, ``has_more``, ``next_cursor``): ask the next
    with ``cursor=page.next_cursor``, or let ``iter_orders`` (same arguments) follow the pages for you."""

    # --- allocation: numbers --------------------------------------------------------------------------

    @operation("allocation", "POST", "/v1/allocations", Allocation, replay=Replay.BY_DESIGN)
    def allocate(self, body: AllocateRequest) -> None:
        """Allocate one number to an order. Idempotent on the order: a repeat answers the same number
        (``created: false``), so it is retried."""

    @operation("allocation", "POST", "/v1/allocations/batch", BatchAllocation, replay=Replay.BY_DESIGN)
    def allocate_batch(self, body: BatchAllocateRequest) -> None:
        """Allocate numbers to up to 1,000 orders (idempotent per order, so retried)."""

    @operation("allocation", "POST", "/v1/waybills/manual", Allocation)
    def register_manual_waybill(self, body: ManualWaybillRequest) -> None:
        """Register a number the seller typed, so that it can never be used twice."""

    @operation("allocation", "GET", "/v1/waybills/{number}", WaybillInfo)
    def get_waybill(self, number: str) -> None:
        """One number's state."""

    @operation("allocation", "POST", "/v1/waybills/{number}/release", ReleaseResult)
    def release_waybill(self, number: str, body: ReleaseRequest | None = None) -> None:
        """Release a number."""

    @operation("allocation", "POST", "/v1/waybills/{number}/recipient", RecipientUpdated)
    def update_waybill_recipient(self, number: str, body: Recipient) -> None:
        """Tell the courier a parcel's new receiver before collection (改址; services): the number stays."""

    @operation("allocation", "POST", "/v1/waybills/routes", RoutesResult)
    def get_waybill_routes(self, body: RoutesRequest) -> None:
        """The courier's sort code (三段码) and consolidation centre (集包地) for up to 1,000 of the shop's numbers'
        destinations, each answering on its own."""

    @operation("allocation", "POST", "/v1/waybills/batch-mark", BatchMarkResult)
    def mark_waybills(self, body: BatchMarkRequest) -> None:
        """Record many numbers' progress at once (services)."""

    @operation("allocation", "POST", "/v1/waybills/{number}/mark", WaybillInfo)
    def mark_waybill(self, number: str, body: MarkRequest) -> None:
        """Record a number's progress (services)."""

    # --- allocation: purchases and stock --------------------------------------------------------------

    @operation("allocation", "POST", "/v1/purchases", PurchaseOut, replay=Replay.KEYED)
    def create_purchase(self, body: PurchaseCreate, *, idempotency_key: str | None = None) -> None:
        """Buy a package of waybill numbers. The ``Idempotency-Key`` is made for you (a UUID, the same for
        every retry of this call) unless you give one; give your own to make a repeat of *your* call (after
        a crash, say) return the same purchase."""

    @operation("allocation", "GET", "/v1/purchases", PagePurchaseOut)
    def list_purchases(self, *, limit: int | None = None, cursor: str | None = None) -> None:
        """Recent purchases, one page."""

    @operation("allocation", "GET", "/v1/purchases/{purchase_id}", PurchaseOut)
    def get_purchase(self, purchase_id: str) -> None:
        """One purchase."""

    @operation("allocation", "POST", "/v1/purchases/{purchase_id}/resync", PurchaseOut)
    def resync_purchase(self, purchase_id: str) -> None:
        """Reconcile a purchase with the courier."""

    @operation("allocation", "POST", "/v1/purchases/{purchase_id}/refund", RefundOut, replay=Replay.KEYED)
    def refund_purchase(
        self, purchase_id: str, body: RefundRequest | None = None, *, idempotency_key: str | None = None
    ) -> None:
        """Refund a purchase's unused numbers: all of them, or ``RefundRequest(count=N)`` exactly N (409
        ``not_enough_unused`` when fewer are). The ``Idempotency-Key`` is made for you (the same for every retry
        of this call) unless you give one; give your own to make a repeat of *your* call refund once."""

    @operation("allocation", "GET", "/v1/expiry-settings", ExpirySettingsOut)
    def get_expiry_settings(self) -> None:
        """The shop's expiry settings: the notice days before its numbers expire, and what happens then."""

    @operation("allocation", "PUT", "/v1/expiry-settings", ExpirySettingsOut)
    def put_expiry_settings(self, body: ExpirySettingsIn) -> None:
        """Set the shop's expiry settings (``expiring_notice_days``, ``on_expiry``: nothing, extend or refund,
        ``auto_extend_days``); the fields left out keep their value."""

    @operation("allocation", "POST", "/v1/purchases/{purchase_id}/extend", ExtendOut)
    def extend_purchase(self, purchase_id: str, body: ExtendRequest) -> None:
        """Extend a purchase's validity for a fee."""

    @operation("allocation", "GET", "/v1/pools", PagePoolOut)
    def list_pools(self, *, expiring_within_days: int | None = None) -> None:
        """Stock per carrier (the whole list)."""

    @operation("allocation", "GET", "/v1/pools/events", PageStockEventOut)
    def list_stock_events(self, *, limit: int | None = None, cursor: str | None = None) -> None:
        """Low-stock and replenishment events, one page."""

    @operation("allocation", "PUT", "/v1/pools/{carrier}", PoolOut)
    def update_pool(self, carrier: CarrierCode, body: PoolUpdate) -> None:
        """Set a pool's low-stock threshold and auto-replenish package."""

    @operation("allocation", "GET", "/v1/balance", BalanceOut)
    def get_balance(self, *, limit: int | None = None) -> None:
        """The shop's balance and its latest ``limit`` ledger entries."""

    @operation("allocation", "GET", "/v1/reports/spend", SpendReport)
    def get_spend_report(
        self,
        from_date: date,
        to_date: date,
        *,
        interval: SpendInterval | None = None,
        group_by: SpendGroup | None = None,
        tz: str | None = None,
        shop_id: str | None = None,
    ) -> None:
        """What the shop's numbers cost it, ``from_date`` to ``to_date`` (both included, dates in ``tz``, the
        shop's zone: Asia/Shanghai by default), per ``interval`` (day, week, month) and ``group_by`` (carrier,
        store, channel), with the totals. The admin key: ``shop_id`` for one shop, none for every shop.
        ``get_spend_report_csv`` answers the same as CSV."""

    # --- allocation: carriers (operators edit them) ---------------------------------------------------

    @operation("allocation", "GET", "/v1/carriers", PageCarrierOut)
    def list_carriers(self) -> None:
        """The carrier catalogue (the whole list)."""

    @operation("allocation", "GET", "/v1/carriers/{code}", CarrierOut)
    def get_carrier(self, code: CarrierCode) -> None:
        """One carrier."""

    @operation("allocation", "PATCH", "/v1/carriers/{code}", CarrierOut)
    def update_carrier(self, code: CarrierCode, body: CarrierUpdate) -> None:
        """Edit a carrier (operators)."""

    @operation("allocation", "POST", "/v1/carriers/{code}/packages", PackageOut)
    def add_carrier_package(self, code: CarrierCode, body: PackageCreate) -> None:
        """Put a package on sale (operators)."""

    # --- allocation: a shop's negotiated prices (the admin key) ---------------------------------------

    @operation("allocation", "GET", "/v1/shops/{shop_id}/prices", PageShopPriceOut)
    def list_shop_prices(self, shop_id: str) -> None:
        """Every negotiated price of the shop, revoked ones too (the whole list); ``in_force`` marks those
        charged now."""

    @operation("allocation", "POST", "/v1/shops/{shop_id}/prices", ShopPriceOut)
    def add_shop_price(self, shop_id: str, body: ShopPriceCreate) -> None:
        """Set the shop's price of a package from ``valid_from`` to ``valid_to``; an overlap with another of the
        same package answers 409 ``price_overlap``."""

    @operation("allocation", "DELETE", "/v1/shops/{shop_id}/prices/{price_id}", ShopPriceOut)
    def revoke_shop_price(self, shop_id: str, price_id: int) -> None:
        """Revoke one of the shop's negotiated prices (purchases made before keep theirs)."""

    # --- allocation: shops and keys (the admin key) ---------------------------------------------------

    @operation("allocation", "POST", "/v1/shops", ShopCreated)
    def create_shop(self, body: ShopCreate) -> None:
        """Create a shop; the answer holds its first API key, shown once."""

    @operation("allocation", "GET", "/v1/shops", PageShopOut)
    def list_shops(self, *, limit: int | None = None, cursor: str | None = None) -> None:
        """Shops in id order, one page."""

    @operation("allocation", "GET", "/v1/shops/{shop_id}", ShopOut)
    def get_shop(self, shop_id: str) -> None:
        """One shop."""

    @operation("allocation", "POST", "/v1/shops/{shop_id}/keys", KeyCreated)
    def create_key(self, shop_id: str, body: KeyCreate) -> None:
        """Issue another API key for a shop (shown once)."""

    @operation("allocation", "DELETE", "/v1/shops/{shop_id}/keys/{key_id}", None)
    def revoke_key(self, shop_id: str, key_id: str) -> None:
        """Revoke an API key."""

    @operation("allocation", "POST", "/v1/shops/{shop_id}/topups", BalanceOut)
    def top_up_shop(self, shop_id: str, body: TopupRequest) -> None:
        """Top up a shop's balance."""

    # --- shipping: orders -----------------------------------------------------------------------------

    @operation("shipping", "POST", "/v1/orders", OrderOut, replay=Replay.BY_DESIGN)
    def create_order(self, body: OrderCreate) -> None:
        """Create an order. Idempotent on ``external_id``: a repeat answers the order already created, so
        it is retried."""

    @operation("shipping", "GET", "/v1/orders", PageOrderOut)
    def list_orders(
        self,
        *,
        status: str | None = None,
        external_id: str | None = None,
        channel: OrderChannel | None = None,
        store_id: str | None = None,
        ship_by_before: datetime | None = None,
        ship_by_after: datetime | None = None,
        held: bool | None = None,
        sort: OrderSort | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> None:
        """Orders, oldest first (``sort="ship_by"``: the most urgent first), one page: ``channel`` (``own``,
        ``taobao``, ``pinduoduo``) and ``store_id`` keep one channel's or one store's, ``ship_by_before`` and
        ``ship_by_after`` (aware) those due in a window, ``held`` the held ones (or, False, the others)."""

    @operation("shipping", "GET", "/v1/orders/{order_id}", OrderOut)
    def get_order(self, order_id: str) -> None:
        """One order."""

    @operation("shipping", "GET", "/v1/orders/{order_id}/events", PageOrderEventOut)
    def list_order_events(self, order_id: str) -> None:
        """An order's state changes (the whole list)."""

    @operation("shipping", "GET", "/v1/orders/{order_id}/carrier-options", PageCarrierOptionOut)
    def list_carrier_options(self, order_id: str) -> None:
        """Carriers ranked for this order, with reasons (the whole list)."""

    @operation("shipping", "POST", "/v1/orders/{order_id}/ship", ShipmentOut, replay=Replay.BY_DESIGN)
    def ship_order(self, order_id: str, body: ShipRequest | None = None) -> None:
        """Ship one order (the carrier recommended and a number from the pool unless ``body`` names them).
        Idempotent on the order: a repeat answers the same shipment, so it is retried."""

    @operation("shipping", "POST", "/v1/orders/{order_id}/cancel", OrderOut)
    def cancel_order(self, order_id: str) -> None:
        """Cancel an order that has not shipped."""

    @operation("shipping", "PUT", "/v1/orders/{order_id}/receiver", OrderOut)
    def update_receiver(self, order_id: str, body: Receiver) -> None:
        """Change the receiver of an order (改址), checked again: a hold for an invalid address is released when
        it passes; once the courier collected a parcel, 409 ``already_collected``."""

    @operation("shipping", "GET", "/v1/order-alerts", PageOrderAlertOut)
    def list_order_alerts(
        self,
        *,
        state: OrderAlertState | None = None,
        kind: OrderAlertKind | None = None,
        order_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> None:
        """The shop's order alerts (发货超时 ``late_to_ship``/``ship_by_passed``, ``address_invalid``...), newest
        first, one page."""

    @operation("shipping", "POST", "/v1/order-alerts/{alert_id}/acknowledge", OrderAlertOut)
    def acknowledge_order_alert(self, alert_id: int) -> None:
        """Acknowledge an order alert (it still resolves by itself)."""

    # --- shipping: shipments and batches --------------------------------------------------------------

    @operation("shipping", "GET", "/v1/shipments", PageShipmentOut)
    def list_shipments(
        self, *, order_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> None:
        """Shipments, newest first (an order's, with ``order_id``), one page."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}", ShipmentOut)
    def get_shipment(self, shipment_id: str) -> None:
        """One shipment."""

    @operation("shipping", "POST", "/v1/shipments/{shipment_id}/cancel", ShipmentOut)
    def cancel_shipment(self, shipment_id: str) -> None:
        """Cancel a shipment before it is confirmed."""

    @operation("shipping", "POST", "/v1/shipments/{shipment_id}/void", ShipmentOut)
    def void_shipment(self, shipment_id: str, body: VoidRequest | None = None) -> None:
        """Void a shipment's labels before collection (回收单号): every parcel's number is voided and the order
        can ship again. Confirmed on a marketplace: 409 ``cannot_withdraw`` (change the numbers instead); a
        parcel collected: 409 ``already_collected``. Not retried (a POST the API guide does not make
        idempotent; a repeat answers the same voided shipment)."""

    @operation("shipping", "POST", "/v1/shipments/{shipment_id}/change-numbers", ShipmentOut)
    def change_numbers(self, shipment_id: str, body: ChangeNumbersRequest | None = None) -> None:
        """Give a confirmed shipment's parcels new numbers (换单号; with another carrier when ``body`` names
        one): the channel is told them in place of the old ones, which are voided. Before collection only."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}/label.pdf", bytes)
    def get_shipment_label(self, shipment_id: str, *, size: LabelSize | None = None) -> None:
        """The shipment's label: a PDF (a page per parcel), as bytes; at the shop's size for the carrier, or
        ``size`` ("100x150", "100x180", "76x130")."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}/label.zpl", bytes)
    def get_shipment_label_zpl(
        self, shipment_id: str, *, size: LabelSize | None = None, dpi: LabelDpi | None = None
    ) -> None:
        """The shipment's label as ZPL II (a label per parcel) for a printer of ``dpi`` (203 by default), as
        bytes to send to the printer as they are."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}/label", bytes)
    def get_shipment_label_as(
        self, shipment_id: str, *, size: LabelSize | None = None, dpi: LabelDpi | None = None
    ) -> None:
        """The shipment's label in the format the client's ``Accept`` asks (PDF by default; ZPL with
        ``with_options(headers={"Accept": "application/zpl"})``), as bytes."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}/parcels/{seq}/label.pdf", bytes)
    def get_parcel_label(self, shipment_id: str, seq: int, *, size: LabelSize | None = None) -> None:
        """One parcel's label (``seq`` 1-based), to reprint one box of a multi-parcel shipment: a PDF, as bytes
        (``size`` as for ``get_shipment_label``)."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}/parcels/{seq}/label.zpl", bytes)
    def get_parcel_label_zpl(
        self, shipment_id: str, seq: int, *, size: LabelSize | None = None, dpi: LabelDpi | None = None
    ) -> None:
        """One parcel's label as ZPL II, as bytes."""

    @operation("shipping", "GET", "/v1/shipments/{shipment_id}/parcels/{seq}/label", bytes)
    def get_parcel_label_as(
        self, shipment_id: str, seq: int, *, size: LabelSize | None = None, dpi: LabelDpi | None = None
    ) -> None:
        """One parcel's label in the format ``Accept`` asks (as ``get_shipment_label_as``), as bytes."""

    @operation("shipping", "POST", "/v1/shipment-batches", BatchOut)
    def create_batch(self, body: BatchCreate) -> None:
        """Ship up to 10,000 orders in the background; follow it with ``get_batch``."""

    @operation("shipping", "GET", "/v1/shipment-batches", PageBatchSummaryOut)
    def list_batches(self, *, limit: int | None = None, cursor: str | None = None) -> None:
        """The shop's batches, newest first, with their progress, one page."""

    @operation("shipping", "GET", "/v1/shipment-batches/{batch_id}/items", PageBatchItemOut)
    def list_batch_items(
        self, batch_id: str, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> None:
        """A batch's per-order results, one page."""

    @operation("shipping", "GET", "/v1/shipment-batches/{batch_id}", BatchOut)
    def get_batch(self, batch_id: str, *, status: str | None = None, limit: int | None = None) -> None:
        """A batch's progress, and its first ``limit`` per-order results (0: the progress alone; page through
        them with ``list_batch_items``)."""

    @operation("shipping", "GET", "/v1/shipment-batches/{batch_id}/labels.pdf", bytes)
    def get_batch_labels(self, batch_id: str, *, size: LabelSize | None = None) -> None:
        """Every label of a batch in one PDF, as bytes (each at the shop's size for its carrier, or ``size``)."""

    @operation("shipping", "GET", "/v1/shipment-batches/{batch_id}/labels.zpl", bytes)
    def get_batch_labels_zpl(
        self, batch_id: str, *, size: LabelSize | None = None, dpi: LabelDpi | None = None
    ) -> None:
        """Every label of a batch as one ZPL II job, as bytes (every label at ``size``, else the shop's size for
        the batch's carrier)."""

    @operation("shipping", "GET", "/v1/shipment-batches/{batch_id}/labels", bytes)
    def get_batch_labels_as(self, batch_id: str, *, size: LabelSize | None = None, dpi: LabelDpi | None = None) -> None:
        """Every label of a batch in the format ``Accept`` asks (as ``get_shipment_label_as``), as bytes."""

    # --- shipping: auto-ship rules (自动发货规则) -----------------------------------------------------

    @operation("shipping", "GET", "/v1/auto-ship/rules", PageAutoShipRuleOut)
    def list_auto_ship_rules(self, *, limit: int | None = None, cursor: str | None = None) -> None:
        """The shop's auto-ship rules in the order they are tried (priority, then age), one page."""

    @operation("shipping", "POST", "/v1/auto-ship/rules", AutoShipRuleOut)
    def create_auto_ship_rule(self, body: AutoShipRuleIn) -> None:
        """Add an auto-ship rule (at most 50 per shop: 409 ``conflict``)."""

    @operation("shipping", "GET", "/v1/auto-ship/rules/{rule_id}", AutoShipRuleOut)
    def get_auto_ship_rule(self, rule_id: str) -> None:
        """One auto-ship rule, with its last run."""

    @operation("shipping", "PATCH", "/v1/auto-ship/rules/{rule_id}", AutoShipRuleOut)
    def update_auto_ship_rule(self, rule_id: str, body: AutoShipRuleUpdate) -> None:
        """Change an auto-ship rule (``active=False`` pauses it; ``conditions``, when given, replace the old)."""

    @operation("shipping", "DELETE", "/v1/auto-ship/rules/{rule_id}", None)
    def revoke_auto_ship_rule(self, rule_id: str) -> None:
        """Delete an auto-ship rule and its runs (the batches it made stay)."""

    @operation("shipping", "POST", "/v1/auto-ship/rules/{rule_id}/dry-run", DryRunOut)
    def apply_rule_dry_run(self, rule_id: str) -> None:
        """What the rule would take now, and why it leaves the rest (nothing is shipped or recorded)."""

    @operation("shipping", "GET", "/v1/auto-ship/rules/{rule_id}/runs", PageAutoShipRunOut)
    def list_auto_ship_runs(self, rule_id: str, *, limit: int | None = None, cursor: str | None = None) -> None:
        """A rule's runs, newest first (each with its batch, the orders taken and what it left), one page."""

    # --- shipping: marketplace stores ---------------------------------------------------------------

    @operation("shipping", "POST", "/v1/stores", StoreOut)
    def bind_store(self, body: StoreIn) -> None:
        """Bind a Taobao or Pinduoduo store: the channel is asked whose the token is (a given ``seller_id``
        must be that seller, else 422 ``seller_not_verified``). Binding a seller the shop has bound renews
        its token. Not retried (a POST the API guide does not make idempotent)."""

    @operation("shipping", "GET", "/v1/stores", PageStoreOut)
    def list_stores(
        self, *, channel: StoreChannel | None = None, limit: int | None = None, cursor: str | None = None
    ) -> None:
        """The shop's stores, newest first (one channel's, with ``channel``), one page."""

    @operation("shipping", "GET", "/v1/stores/{store_id}", StoreOut)
    def get_store(self, store_id: str) -> None:
        """One store."""

    @operation("shipping", "PATCH", "/v1/stores/{store_id}", StoreOut)
    def update_store(self, store_id: str, body: StoreUpdate) -> None:
        """Rename a store, renew its token (checked with the channel: the same seller's, else 422) or set its own
        confirmation mode (``confirm_mode=None`` given: the shop's again)."""

    @operation("shipping", "DELETE", "/v1/stores/{store_id}", StoreOut)
    def unbind_store(self, store_id: str) -> None:
        """Unbind a store: its messages stop and its token is dropped; its orders stay. Binding the seller
        again makes it active again."""

    # --- shipping: settings and webhooks --------------------------------------------------------------

    @operation("shipping", "GET", "/v1/settings", SettingsOut)
    def get_shop_settings(self) -> None:
        """The shop's shipping settings."""

    @operation("shipping", "PUT", "/v1/settings", SettingsOut)
    def put_shop_settings(self, body: SettingsIn) -> None:
        """Set the shop's sender, courier preferences, time zone, ship-by alert lead and confirmation mode
        (``confirm_mode``, ``confirm_time``); ``seller_nick``/``session``: its first Taobao store, kept for older
        clients (``bind_store`` binds any number of stores)."""

    @operation("shipping", "GET", "/v1/webhook-endpoints", PageWebhookEndpointOut)
    def list_webhook_endpoints(self) -> None:
        """The shop's webhook endpoints (the whole list)."""

    @operation("shipping", "POST", "/v1/webhook-endpoints", WebhookEndpointOut)
    def create_webhook_endpoint(self, body: WebhookEndpointIn) -> None:
        """Register a URL for shipment and tracking events (the answer holds its signing secret)."""

    @operation("shipping", "DELETE", "/v1/webhook-endpoints/{endpoint_id}", None)
    def disable_webhook_endpoint(self, endpoint_id: str) -> None:
        """Stop sending events to an endpoint."""

    @operation("shipping", "GET", "/v1/webhook-deliveries", PageWebhookDeliveryOut)
    def list_webhook_deliveries(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> None:
        """Event deliveries (``status="failed"``...), one page."""

    @operation("shipping", "POST", "/v1/webhook-deliveries/{delivery_id}/resend", WebhookDeliveryOut)
    def resend_webhook_delivery(self, delivery_id: str | UUID) -> None:
        """Send a delivery again."""

    # --- tracking -------------------------------------------------------------------------------------

    @operation("tracking", "GET", "/v1/trackings/{waybill}", TrackingOut)
    def get_tracking(self, waybill: str, *, carrier: CarrierCode | None = None) -> None:
        """A parcel's status, timeline and alerts."""

    @operation("tracking", "GET", "/v1/orders/{order_id}/tracking", OrderTrackingOut)
    def get_order_tracking(self, order_id: str) -> None:
        """The tracking of every parcel of an order."""

    @operation("tracking", "GET", "/v1/alerts", PageAlertOut)
    def list_alerts(
        self,
        *,
        state: AlertState | None = None,
        kind: AlertKind | None = None,
        carrier: CarrierCode | None = None,
        number: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> None:
        """The shop's logistics alerts (物流预警), newest first, one page."""

    @operation("tracking", "POST", "/v1/alerts/{alert_id}/ack", AlertOut)
    def acknowledge_alert(self, alert_id: int) -> None:
        """Acknowledge an alert."""

    @operation("tracking", "GET", "/v1/alert-settings", PageAlertSettingOut)
    def get_alert_settings(self) -> None:
        """The alert thresholds in force, per carrier (the whole list)."""

    @operation("tracking", "PUT", "/v1/alert-settings", AlertSettingOut)
    def put_alert_settings(self, body: AlertSettingIn) -> None:
        """Set the alert thresholds for a carrier (or, without ``carrier``, every carrier)."""

    # --- every item of a paged list, following next_cursor --------------------------------------------

    iter_purchases = pages(list_purchases)
    iter_stock_events = pages(list_stock_events)
    iter_shops = pages(list_shops)
    iter_orders = pages(list_orders)
    iter_order_alerts = pages(list_order_alerts)
    iter_auto_ship_rules = pages(list_auto_ship_rules)
    iter_auto_ship_runs = pages(list_auto_ship_runs)
    iter_stores = pages(list_stores)
    iter_shipments = pages(list_shipments)
    iter_batches = pages(list_batches)
    iter_batch_items = pages(list_batch_items)
    iter_webhook_deliveries = pages(list_webhook_deliveries)
    iter_alerts = pages(list_alerts)
