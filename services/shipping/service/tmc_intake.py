"""Taobao order messages from its message service (TMC), into the same intake as the HTTP pushes: each one
stored and applied in a transaction, then confirmed to TMC; one the marketplace could not bear out now (503)
is left unconfirmed, and TMC delivers it again."""

from __future__ import annotations

from runtime.errors import AppError
from runtime.logging import get_logger
from services.shipping.channels.taobao.channel import channel_message
from services.shipping.channels.taobao.protocol import Message
from services.shipping.channels.taobao.tmc import TmcConsumer
from services.shipping.resources import ShippingResources
from services.shipping.service import channel_messages

log = get_logger(__name__)


def consumer(res: ShippingResources) -> TmcConsumer:
    s = res.settings

    async def handle(message: Message) -> bool:
        try:
            async with res.transaction() as uow:
                outcome = await channel_messages.receive(uow, res.channels, channel_message(message))
        except AppError as exc:
            if exc.status_code >= 500:
                return False  # not stored: TMC sends it again
            log.warning("tmc_message_refused", message_id=message.id, code=str(exc.code), error=exc.message)
            return True  # it can never be applied: confirmed, or TMC would send it forever
        log.info("tmc_message", message_id=message.id, status=outcome["status"])
        return True

    return TmcConsumer(
        s.tmc_url, s.marketplace_app_key, s.marketplace_app_secret.get_secret_value(), s.tmc_group, handle
    )
