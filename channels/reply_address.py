"""Per-case reply addresses: ``complaints+<token>@domain``, where the token names the case and
carries an HMAC of its id under SECRET_KEY. Case references are sequential and guessable; the
token is not, so mail sent to a valid reply address may speak for the case's customer."""

from __future__ import annotations

import re
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "channels.reply_address"
_SIGNATURE_LENGTH = 24  # hex characters: 96 bits
_TOKEN = re.compile(rf"\+c(\d{{1,12}})-([0-9a-f]{{{_SIGNATURE_LENGTH}}})@")


def _signature(case_id: int) -> str:
    return salted_hmac(_SALT, str(case_id), algorithm="sha256").hexdigest()[:_SIGNATURE_LENGTH]


def reply_address_for(case_id: int) -> str:
    """The reply address of one case, built on DEFAULT_FROM_EMAIL's mailbox (the mail server
    must deliver ``local+anything@domain`` to ``local@domain``, as most do)."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "complaints@complaints.local"
    local, _sep, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+c{case_id}-{_signature(case_id)}@{domain}"


def case_id_from_addresses(addresses: list[str]) -> int | None:
    """The case whose reply address is among ``addresses``, or None. An address with a token
    that does not verify (a forgery, or one signed under another SECRET_KEY) counts as none."""
    for address in addresses:
        match = _TOKEN.search(address.lower())
        if match and constant_time_compare(match.group(2), _signature(int(match.group(1)))):
            return int(match.group(1))
    return None
