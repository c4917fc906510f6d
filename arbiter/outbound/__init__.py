"""What Arbiter tells others: signed webhooks, written to an outbox with each decision.

`arbiter.outbound.webhooks` keeps the endpoints, queues deliveries in the decision's own
transaction and signs them; `arbiter.outbound.delivery` sends them. Receivers check a request
with `verify_signature` (docs/webhooks.md).
"""

from arbiter.outbound.webhooks import (
    EVENTS,
    Delivery,
    Endpoint,
    WebhookError,
    add_endpoint,
    delivery_counts,
    endpoints,
    enqueue_decisions,
    failing_deliveries,
    remove_endpoint,
    retry_delivery,
    signature_header,
    verify_signature,
)

__all__ = [
    "EVENTS",
    "Delivery",
    "Endpoint",
    "WebhookError",
    "add_endpoint",
    "delivery_counts",
    "endpoints",
    "enqueue_decisions",
    "failing_deliveries",
    "remove_endpoint",
    "retry_delivery",
    "signature_header",
    "verify_signature",
]
