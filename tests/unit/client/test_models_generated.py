"""models.py is what the OpenAPI documents generate (clients/python/generate.py): it cannot drift from the API.
After a change to a model of the services, run ``.venv/bin/python clients/python/generate.py``."""

from __future__ import annotations

import subprocess
import sys

import pytest
from waybill_client import models

from tests.unit.client.support import GENERATE, ROOT, documents, generator


def test_every_public_schema_has_a_model() -> None:
    """The quick check (no generator run): a schema the API gained is in models.py."""
    schemas = generator().merged(documents())["components"]["schemas"]
    names = {"".join(c for c in name if c.isalnum()) for name in schemas}
    assert sorted(n for n in names if not hasattr(models, n)) == []


def test_the_merge_refuses_two_schemas_of_one_name() -> None:
    docs = documents()
    clash = {
        "allocation": docs["allocation"],
        "shipping": {
            **docs["shipping"],
            "components": {"schemas": {**docs["shipping"]["components"]["schemas"], "ErrorDetail": {"type": "object"}}},
        },
    }
    with pytest.raises(SystemExit, match="ErrorDetail"):
        generator().merged(clash)


def test_regenerating_the_models_gives_the_same_file() -> None:
    run = subprocess.run(
        [sys.executable, str(GENERATE), "--check"], cwd=ROOT, capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
