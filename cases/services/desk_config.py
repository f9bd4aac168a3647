"""The admin-edited configuration intake reads on every complaint (desk settings, SLA policies,
acknowledgement templates), cached per process.

A process reuses its copy while the version in the shared cache is unchanged and the copy is
younger than ``MAX_AGE`` (the bound when the cache is not shared between processes, as in the
embedded default's local-memory cache). Saving or deleting any of these rows drops this
process's copy at once and, after commit, changes the shared version, so every other process
reloads on its next complaint. A cache that is down only costs the reload.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from cases.choices import Basis, ContactChannel
from cases.models import (
    ClockBasis,
    DeskSettings,
    NoticeTemplate,
    PauseReason,
    Regime,
    SlaPolicy,
)
from cases.models.notices import NoticeKind
from cases.notice_texts import TemplateCache
from cases.services import clocks
from complaints_project.cache_outage import CACHE_DOWN_ERRORS, warn_cache_down

logger = logging.getLogger(__name__)

VERSION_KEY = "desk-config-version"
MAX_AGE = 60.0  # seconds


@dataclass(frozen=True)
class DeskConfig:
    """One consistent read of the configuration. Read-only: do not change or save these
    objects (they are shared by every request of the process)."""

    settings: DeskSettings
    policies: dict[int, SlaPolicy]
    # Every acknowledgement template key, None where the admin defined none (so rendering
    # the acknowledgement reads no template: see ``cases.notice_texts.render_notice``).
    templates: TemplateCache
    # (tier, clock) -> (basis, calendar id or None) for every clock that is not plain elapsed
    # time (``ClockBasis`` rows, edited inline in the SLA policy admin).
    bases: dict[tuple[int, str], tuple[str, int | None]]
    # The active statutory regimes' rules: (regime id, code, intake channel ids, categories),
    # read by intake to find a case's regime without a query (cases.services.statutory).
    regimes: tuple[tuple[int, str, frozenset[int], frozenset[str]], ...] = ()

    # The active pause reasons, in their order (the workspace's pause form).
    pause_reasons: tuple[PauseReason, ...] = ()

    def clock_basis(self, tier: int, clock: str) -> tuple[str, int | None]:
        return self.bases.get((tier, clock), (Basis.ELAPSED, None))

    def policy(self, tier: int) -> SlaPolicy:
        """The policy that times a case of ``tier`` (see ``clocks.policy_for``)."""
        return self.policies.get(clocks.policy_tier(tier)) or clocks.default_policy(tier)

    def __post_init__(self) -> None:
        for policy in self.policies.values():  # read by clocks.clock_basis without a lookup
            policy.cached_bases = {clock: value for (tier, clock), value in self.bases.items()
                                   if tier == policy.tier}


@dataclass(frozen=True)
class _Copy:
    version: Any
    loaded_at: float
    config: DeskConfig


_copy: _Copy | None = None


def desk_config() -> DeskConfig:
    """The current configuration: this process's copy, or a fresh read (5 queries)."""
    global _copy
    version = shared_version()
    copy = _copy
    if (copy is not None and version is not None and copy.version == version
            and time.monotonic() - copy.loaded_at < MAX_AGE):
        return copy.config
    config = _load()
    if version is not None:
        _copy = _Copy(version, time.monotonic(), config)
    return config


def forget() -> None:
    """Drop this process's copy (the next ``desk_config`` reads the database)."""
    global _copy
    _copy = None


def _changed(**kwargs: Any) -> None:
    forget()
    transaction.on_commit(publish_version, using=kwargs.get("using"))


def publish_version(key: str = VERSION_KEY) -> None:
    """Publish a new version under ``key`` (also used for the working calendars)."""
    try:
        cache.set(key, uuid.uuid4().hex, None)
    except CACHE_DOWN_ERRORS as exc:  # the other processes reload within MAX_AGE
        warn_cache_down(logger, "could not publish a new desk configuration version (%s)", exc)


def shared_version(key: str = VERSION_KEY) -> Any:
    """The version every process compares its copy with (set on first use); None when the
    cache cannot be reached."""
    try:
        version = cache.get(key)
        if version is None:
            cache.add(key, uuid.uuid4().hex, None)
            version = cache.get(key)
        return version
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(logger, "desk configuration version unavailable (%s); reading the "
                        "database", exc)
        return None


def _load() -> DeskConfig:
    templates: TemplateCache = {
        (NoticeKind.ACKNOWLEDGEMENT, channel, language): None
        for channel in ContactChannel.values for language, _name in settings.LANGUAGES
    }
    for template in NoticeTemplate.objects.filter(kind=NoticeKind.ACKNOWLEDGEMENT):
        templates[(template.kind, template.channel, template.language)] = template
    return DeskConfig(
        settings=DeskSettings.get(),
        policies={policy.tier: policy for policy in SlaPolicy.objects.all()},
        templates=templates,
        bases={(row.policy.tier, row.clock): (row.basis, row.calendar_id)
               for row in ClockBasis.objects.select_related("policy")
               if row.basis != Basis.ELAPSED},
        pause_reasons=tuple(PauseReason.objects.filter(active=True)),
        regimes=_regime_rules(),
    )


def _regime_rules() -> tuple[tuple[int, str, frozenset[int], frozenset[str]], ...]:
    """The active regimes' rules in one query (a row per regime and intake channel)."""
    rules: dict[int, tuple[str, set[int], list[str]]] = {}
    for pk, code, channel, categories in Regime.objects.filter(is_active=True).order_by(
            "code").values_list("id", "code", "channels", "categories"):
        rule = rules.setdefault(pk, (code, set(), categories or []))
        if channel is not None:
            rule[1].add(channel)
    return tuple((pk, code, frozenset(ch), frozenset(cats))
                 for pk, (code, ch, cats) in rules.items())


def connect_signals() -> None:
    """Watch the rows the configuration is read from (called from ``CasesConfig.ready``)."""
    for model in (DeskSettings, SlaPolicy, NoticeTemplate, ClockBasis, PauseReason, Regime):
        uid = f"desk-config-{model.__name__}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")
    m2m_changed.connect(_changed, sender=Regime.channels.through,
                        dispatch_uid="desk-config-regime-channels")
