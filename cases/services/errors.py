"""Errors raised by domain actions. Each carries a message a person can act on; views turn
them into form errors or messages, the API into JSON."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied


class DomainError(Exception):
    """Base class: the action was refused and nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class ActionNotAllowed(DomainError):
    """The transition does not exist from the case's current state, or a condition is unmet."""


class ActionForbidden(DomainError, DjangoPermissionDenied):
    """The actor may not take this action (views answer 403)."""


class ConflictError(DomainError):
    """Somebody else changed the case since the actor loaded it."""


class CaseBusy(ConflictError):
    """Another transaction holds the case row longer than the lock timeout: try again soon.
    The actor's transaction was rolled back; ``retry_after`` is a hint in seconds."""

    retry_after = 2


class InvalidInput(DomainError):
    """A value given to the action is not acceptable; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
