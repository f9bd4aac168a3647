"""What parsing returns: the parsed message, its attachments, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .case_reference import find_case_reference


class EmailParseError(ValueError):
    """Raised when raw bytes contain neither a sender address nor any body text.

    Such input cannot become a complaint (nobody to answer, nothing to read), so the caller
    should log and drop it instead of creating an empty case.
    """


@dataclass(frozen=True)
class Attachment:
    """An attachment kept from the message (decoded payload, sanitised filename)."""

    filename: str
    content_type: str
    payload: bytes
    size: int


@dataclass(frozen=True)
class SkippedAttachment:
    """An attachment we deliberately did not keep, and why (so agents can ask for it)."""

    filename: str
    content_type: str
    size: int
    reason: str


@dataclass(frozen=True)
class ParsedEmail:
    """Everything the intake channel needs from one inbound message.

    ``message_id``, ``in_reply_to`` and ``references`` are normalised without angle
    brackets so they can be compared with each other and with ids we generated.
    """

    message_id: str
    from_name: str
    from_address: str
    to_addresses: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    skipped_attachments: list[SkippedAttachment] = field(default_factory=list)
    is_automatic: bool = False

    @property
    def case_reference(self) -> str | None:
        """The ``TS-YYYY-NNNNNN`` reference quoted in the subject, if any."""
        return find_case_reference(self.subject)
