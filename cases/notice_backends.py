"""Pluggable SMS and WeChat backends. The defaults log what they would send (without the
customer's address: contact data never goes to logs)."""

from __future__ import annotations

import logging

from cases.models import Notice

logger = logging.getLogger("cases.notices")


class LoggingSmsBackend:
    def send(self, notice: Notice) -> None:
        logger.info("SMS notice %s (%s, %d chars)", notice.pk, notice.kind, len(notice.body))


class LoggingWeChatBackend:
    def send(self, notice: Notice) -> None:
        logger.info("WeChat notice %s (%s, %d chars)", notice.pk, notice.kind, len(notice.body))
