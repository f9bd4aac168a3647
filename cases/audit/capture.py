"""Change capture: every create, change and delete of the audited models, whoever makes it
(services, the Django admin, commands), becomes an audit entry with old and new values.

How: ``post_init`` keeps the values an instance was loaded with; ``post_save`` compares
them with what was saved (only ``update_fields`` when given) and records the difference;
``post_delete`` records the deletion. No extra query: the snapshot is the row as loaded.
Writes that bypass ``save()`` (``QuerySet.update``/``bulk_update``) are recorded by their
callers through ``record_bulk_changes`` or a summarised ``audit_record_many`` entry.

Personal data never enters the trail in clear (it is append-only and cannot be anonymised
later): the customer's name, phone and e-mail are stored masked, free text with the
personal data typed into it masked (``cases.masking``), secrets only as "changed"."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save

from cases.masking import mask_email, mask_phone
from cases.models.audit import AuditAction

SNAPSHOT = "_audit_loaded"  # instance attribute holding the values it was loaded with
SECRET = "(secret)"

# Not recorded for any model: bookkeeping that changes on every save.
ALWAYS_SKIPPED = frozenset({"updated_at", "version", "last_login", "last_used_at"})


def _mask_name(value: Any) -> str:
    text = str(value or "")
    return f"{text[:1]}**" if text else ""


def _secret(value: Any) -> str:
    return SECRET if value else ""


def _digest(value: Any) -> str:
    text = str(value)
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()} ({len(text)} chars)"


# model label -> fields skipped (besides ALWAYS_SKIPPED)
AUDITED: dict[str, frozenset[str]] = {
    "cases.Case": frozenset(),
    "cases.Customer": frozenset(),
    "cases.Compensation": frozenset(),
    "cases.CollaborationRequest": frozenset(),
    "cases.SlaPolicy": frozenset(),
    "cases.DeskSettings": frozenset(),
    "cases.RootCause": frozenset(),
    "cases.NoticeTemplate": frozenset(),
    "cases.Macro": frozenset(),
    "cases.LetterTemplate": frozenset(),
    "cases.Department": frozenset(),
    "cases.User": frozenset(),
    "cases.RoutingRule": frozenset({"last_agent"}),  # the round-robin pointer moves per case
    "cases.AgentProfile": frozenset(),
    "channels.Channel": frozenset(),
    "channels.ApiKey": frozenset(),
    "reporting.KpiTarget": frozenset(),
    # Where case events are sent: who pointed them where, and when the secret changed.
    "webhooks.WebhookEndpoint": frozenset({"consecutive_failures"}),
}

# Models whose free text may hold the customer's personal data (a name typed into a
# description cannot be detected): recorded as a digest.
FREE_TEXT_DIGESTED = frozenset({"cases.Case", "cases.Compensation",
                              "cases.CollaborationRequest"})

# Text fields of those models that are codes, not anyone's words: recorded as they are.
KEPT_TEXT = frozenset({"reference", "external_id", "company"})

# (model label, field) -> how the value is recorded.
MASKED: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("cases.Customer", "name"): _mask_name,
    ("cases.Customer", "phone"): lambda v: mask_phone(v or ""),
    ("cases.Customer", "email"): lambda v: mask_email(v or ""),
    ("cases.Customer", "wechat_openid"): _secret,
    ("cases.Case", "location"): lambda v: "***" if v else "",  # may be an address
    ("cases.Case", "order_ref"): lambda v: "***" if v else "",  # identifies the buyer
    ("cases.Case", "tracking_code"): _secret,  # the customer's key to /track/
    ("cases.User", "password"): _secret,
    ("channels.ApiKey", "key_hash"): _secret,
    ("webhooks.WebhookEndpoint", "secret"): _secret,
}

# How an object is named in the trail when its ``str()`` is personal data.
MASKED_REPR: dict[str, Callable[[Any], str]] = {
    "cases.Customer": lambda obj: _mask_name(obj.name),
}


def safe_repr(obj: models.Model) -> str:
    masker = MASKED_REPR.get(obj._meta.label)
    return (masker(obj) if masker is not None else str(obj))[:200]


# Many-to-many fields recorded as "+added / -removed" primary keys.
AUDITED_M2M = (("cases.Case", "task_force"), ("cases.User", "groups"))


@cache
def tracked_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    skipped = AUDITED.get(model._meta.label, frozenset()) | ALWAYS_SKIPPED
    return tuple(f for f in model._meta.concrete_fields if f.name not in skipped)


def recorded(model: type[models.Model], field: models.Field, value: Any) -> Any:
    """``value`` as the trail keeps it."""
    label = model._meta.label
    masker = MASKED.get((label, field.name))
    if masker is not None:
        return masker(value)
    if (label in FREE_TEXT_DIGESTED and isinstance(field, models.CharField | models.TextField)
            and not field.choices and value and field.name not in KEPT_TEXT):
        return _digest(value)
    return value


def snapshot(instance: models.Model) -> dict[str, Any]:
    loaded = instance.__dict__
    return {f.attname: loaded[f.attname] for f in tracked_fields(type(instance))
            if f.attname in loaded}


def diff(instance: models.Model, only: Iterable[str] | None = None) -> dict[str, tuple]:
    """Fields whose value differs from the loaded snapshot: {name: (old, new)} as recorded."""
    model = type(instance)
    before = instance.__dict__.get(SNAPSHOT) or {}
    wanted = set(only) if only is not None else None
    changes = {}
    for field in tracked_fields(model):
        if wanted is not None and field.name not in wanted and field.attname not in wanted:
            continue
        if field.attname not in instance.__dict__:
            continue
        new = instance.__dict__[field.attname]
        old = before.get(field.attname)
        if field.attname in before and old == new:
            continue
        changes[field.name] = (recorded(model, field, old), recorded(model, field, new))
    return {name: pair for name, pair in changes.items() if pair[0] != pair[1]}


def created_values(instance: models.Model) -> dict[str, tuple]:
    model = type(instance)
    return {f.name: (None, recorded(model, f, instance.__dict__.get(f.attname)))
            for f in tracked_fields(model)
            if instance.__dict__.get(f.attname) not in (None, "")}


def remember(instance: models.Model, only: Iterable[str] | None = None) -> None:
    current = snapshot(instance)
    if only is not None:
        previous = dict(instance.__dict__.get(SNAPSHOT) or {})
        names = set(only)
        previous.update({k: v for k, v in current.items() if k in names
                         or k.removesuffix("_id") in names})
        current = previous
    instance.__dict__[SNAPSHOT] = current


def record_bulk_changes(instances: Iterable[models.Model], fields: Iterable[str]) -> None:
    """For callers of ``bulk_update``/``update`` on audited instances: one entry per instance
    whose ``fields`` differ from the values it was loaded with."""
    from cases.services.audit import AuditRecordData, audit_record_many

    fields = list(fields)
    entries = []
    for obj in instances:
        changes = diff(obj, only=fields)
        if changes:
            entries.append(AuditRecordData(action=AuditAction.CHANGE, target=obj,
                                           changes=changes))
        remember(obj, only=fields)
    audit_record_many(entries)


# --- signal handlers -----------------------------------------------------------------------------
def _on_init(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    instance.__dict__[SNAPSHOT] = snapshot(instance)


def _on_save(sender: type[models.Model], instance: models.Model, created: bool,
             update_fields: Iterable[str] | None = None, raw: bool = False,
             **kwargs: Any) -> None:
    from cases.services.audit import audit_record

    if raw:  # loaddata
        return
    if created:
        audit_record(actor=None, action=AuditAction.CREATE, target=instance,
                     changes=created_values(instance))
    else:
        changes = diff(instance, only=update_fields)
        if changes:
            audit_record(actor=None, action=AuditAction.CHANGE, target=instance,
                         changes=changes)
    remember(instance, only=None if created else update_fields)


def _on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    from cases.services.audit import audit_record

    audit_record(actor=None, action=AuditAction.DELETE, target=instance,
                 changes={name: (new, None) for name, (_old, new)
                          in created_values(instance).items()})


def _m2m_handler(owner: type[models.Model], name: str) -> Callable[..., None]:
    def handler(sender: Any, instance: models.Model, action: str, reverse: bool,
                pk_set: set | None, **kwargs: Any) -> None:
        from cases.services.audit import audit_record

        if reverse or not isinstance(instance, owner):
            return
        if action == "pre_clear":
            pk_set = set(getattr(instance, name).values_list("pk", flat=True))
        if action not in ("post_add", "post_remove", "pre_clear") or not pk_set:
            return
        sign = "+" if action == "post_add" else "-"
        audit_record(actor=None, action=AuditAction.CHANGE, target=instance,
                     changes={name: (None, [f"{sign}{pk}" for pk in sorted(pk_set)])})

    return handler


_M2M_HANDLERS: list[Callable[..., None]] = []  # signals keep weak references


def connect_signals() -> None:
    for label in AUDITED:
        model = apps.get_model(label)
        uid = f"audit-{label}"
        post_init.connect(_on_init, sender=model, dispatch_uid=uid)
        post_save.connect(_on_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_on_delete, sender=model, dispatch_uid=uid)
    for label, name in AUDITED_M2M:
        model = apps.get_model(label)
        through = model._meta.get_field(name).remote_field.through
        handler = _m2m_handler(model, name)
        _M2M_HANDLERS.append(handler)
        m2m_changed.connect(handler, sender=through, dispatch_uid=f"audit-{label}-{name}")
