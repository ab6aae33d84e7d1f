"""webhook safety: no remote text kept in delivery records

Deliveries used to keep the first 200 characters of what the endpoint answered (``HTTP 500: <body>``) and
the exception's text (``RemoteProtocolError: illegal status line: b'SSH-2.0-...'``, which quotes what the
remote end sent). An endpoint pointed at an internal address could so be read back through
``GET /v1/webhook-deliveries``. Deliveries now keep only a short reason of ours; this removes the remote
text from the rows written before. Data only, no schema change.

Revision ID: s0005
Revises: s0004
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s0005"
down_revision: str | None = "s0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # "HTTP 502: <body>" -> "HTTP 502"; "ReadError: <text>" -> "ReadError" (an exception's class name). Our new
    # reasons ("HTTP 502", "refused: ...", "timeout") match neither pattern: running this again changes nothing.
    op.execute(
        r"""
        UPDATE shipping.webhook_deliveries
           SET last_error = CASE
                   WHEN last_error ~ '^HTTP [0-9]{3}: ' THEN substring(last_error FROM '^HTTP [0-9]{3}')
                   ELSE substring(last_error FROM '^[A-Z][A-Za-z]+')
               END
         WHERE last_error ~ '^HTTP [0-9]{3}: ' OR last_error ~ '^[A-Z][A-Za-z]+: '
        """
    )


def downgrade() -> None:
    pass  # the removed text is gone for good, on purpose
