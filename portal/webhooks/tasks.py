"""django-q2 task adapter: deliver one webhook message attempt."""

from __future__ import annotations


def deliver(endpoint_id: int, message_id: str, event_type: str, body: str, attempt: int) -> bool:
    from portal.webhooks.services import webhook_deliver

    return webhook_deliver(
        endpoint_id=endpoint_id,
        message_id=message_id,
        event_type=event_type,
        body=body,
        attempt=attempt,
    )
