"""The built-in notifier: an encrypted outbox the patient's tracking link reads."""

from __future__ import annotations

from psycopg.rows import dict_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.ports import PatientMessage

INSERT_MESSAGE = """
INSERT INTO dispatch.notification_outbox
    (order_id, kind, body_enc, created_at, expires_at)
VALUES (%s, %s, %s, %s, %s)
"""
SELECT_MESSAGES = """
SELECT kind, body_enc, expires_at FROM dispatch.notification_outbox
WHERE order_id = %s ORDER BY id
"""


class OutboxNotifier:
    """Writes messages (body encrypted, bound to the order) to the outbox table."""

    def send(self, tx: Tx, message: PatientMessage) -> None:
        """Queue ``message`` in the outbox, inside ``tx``."""
        body = tx.ctx.cipher.encrypt(
            message.body.encode(), owner=f"outbox:{message.order_id}"
        )
        tx.conn.execute(
            INSERT_MESSAGE,
            (message.order_id, message.kind, body, tx.now, message.expires_at),
        )


def read_messages(tx: Tx, order_id: str) -> list[PatientMessage]:
    """Decrypted outbox messages of an order, oldest first (caller audits the read)."""
    rows = tx.fetch_all(dict_row, SELECT_MESSAGES, (order_id,))
    return [
        PatientMessage(
            order_id=order_id,
            kind=row["kind"],
            body=tx.ctx.cipher.decrypt(
                bytes(row["body_enc"]), owner=f"outbox:{order_id}"
            ).decode(),
            expires_at=row["expires_at"],
        )
        for row in rows
    ]
