from __future__ import annotations

import io
import logging
from contextlib import redirect_stdout

from runtime.db import make_engine
from runtime.logging import configure_logging


def test_debug_level_does_not_switch_on_sqlalchemys_statement_log() -> None:
    with redirect_stdout(io.StringIO()):
        configure_logging("test", "DEBUG", json=True)
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    # At INFO SQLAlchemy logs every statement with its parameters (sessions, webhook secrets).
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)


async def test_statement_parameters_are_kept_out_of_error_messages() -> None:
    engine = make_engine("postgresql://u@127.0.0.1:1/db", pool_size=1)
    try:
        assert engine.sync_engine.hide_parameters is True
    finally:
        await engine.dispose()
