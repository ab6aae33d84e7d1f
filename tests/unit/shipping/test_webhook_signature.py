"""What shops verify: HMAC-SHA256(secret, timestamp + "." + raw body), hex."""

from __future__ import annotations

import hashlib
import hmac

from services.shipping.service.webhook_sending import sign_webhook


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"7c1d","type":"shipment.confirmed"}'
    expected = hmac.new(b"whsec_1", b"1764295200." + body, hashlib.sha256).hexdigest()
    assert sign_webhook("whsec_1", "1764295200", body) == expected
    assert sign_webhook("whsec_2", "1764295200", body) != expected
