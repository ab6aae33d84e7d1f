from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

from runtime.auth import generate_key, hash_secret, parse_key
from runtime.logging import configure_logging, get_logger


def test_generated_keys_parse_and_only_the_hash_is_kept() -> None:
    key = generate_key()
    parsed = parse_key(key.plaintext)
    assert parsed is not None
    assert parsed[0] == key.key_id
    assert hash_secret(parsed[1]) == key.secret_hash
    assert parsed[1] not in key.secret_hash
    assert parse_key("not-a-key") is None
    assert parse_key("wbk__x") is None


def test_logs_are_json_and_mask_keys() -> None:
    key = generate_key().plaintext
    buf = io.StringIO()
    with redirect_stdout(buf):
        configure_logging("test", "INFO", json=True)
        get_logger("t").info("calling", url=f"http://x/?k={key}", authorization=f"Bearer {key}")
    line = buf.getvalue().strip().splitlines()[-1]
    record = json.loads(line)
    assert record["msg"] == "calling"
    assert key not in line
    assert record["authorization"] == "***"


def test_job_results_that_are_exceptions_still_serialise() -> None:
    from runtime.jobs import job_deserializer, job_serializer

    data = job_deserializer(job_serializer({"r": RuntimeError("courier down"), "t": 1}))
    assert data == {"r": "RuntimeError('courier down')", "t": 1}
