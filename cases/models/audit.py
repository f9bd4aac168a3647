"""The audit trail: an append-only, hash-chained log of who changed what, who saw unmasked
personal data and who exported what. Rows are written only by ``cases.audit.recording``;
nothing updates or deletes them (retention of the log itself is out of scope)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The previous hash of the first entry.
GENESIS_HASH = "0" * 64


class AuditAction(models.TextChoices):
    CREATE = "create", _("created")
    CHANGE = "change", _("changed")
    DELETE = "delete", _("deleted")
    BULK_CHANGE = "bulk_change", _("changed in bulk")
    VIEW_PERSONAL = "view_personal", _("viewed personal data")
    EXPORT = "export", _("exported")
    ANONYMISE = "anonymise", _("anonymised")
    ERASE = "erase", _("erased on request")
    WEBHOOK_DISABLED = "webhook_disabled", _("webhook endpoint disabled")
    OTHER = "other", _("other")


class AuditEntry(models.Model):
    """One entry. ``hash`` is SHA-256 over the previous entry's hash and this entry's
    canonical content (``cases.audit.chain.entry_hash``); ``seq`` is the position on the
    chain: 1, 2, 3, ... without gaps."""

    seq = models.PositiveBigIntegerField(_("sequence number"), unique=True)
    at = models.DateTimeField(_("when"), db_index=True)
    # No database constraint: the log must outlive a deleted user and never change.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), null=True, blank=True,
        on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
    )
    actor_name = models.CharField(_("who (at the time)"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=30)
    target_type = models.CharField(_("object type"), max_length=60, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    case_id = models.BigIntegerField(_("case"), null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [
            models.Index(fields=["case_id", "seq"], name="audit_case_seq_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type} {self.target_id}"

    def get_action_display(self) -> str:
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action


class AuditChainHead(models.Model):
    """The last verified checkpoint: one row (pk 1) that ``audit verify`` moves to the chain's
    end after a successful walk. A later walk that ends before it (the newest entries
    removed) or finds another hash there fails; write it down elsewhere too (the command
    prints it) to anchor the chain outside the database."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")

    def __str__(self) -> str:
        return f"#{self.last_seq}"
