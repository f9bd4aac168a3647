"""Webhook services: recording events into the delivery outbox (``events``), sending
(``delivery``), and what an administrator does with endpoints (``endpoints``)."""
