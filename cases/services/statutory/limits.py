"""How a regime counts: a limit of N calendar or working days from an instant, the time the
statutory clock goes at risk, and the limit as a person reads it ("15 days (calendar)")."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.translation import ngettext

from cases.models.statutory import Regime, RegimeBasis

# The share of the allowed time after which a statutory clock is at risk (as the tiers' 75 %).
AT_RISK_SHARE = 0.75


def limit_due(regime: Regime, start: datetime, days: int) -> datetime:
    """The end of a limit of ``days`` in the regime's basis, counted from ``start``."""
    return start + timedelta(days=days)


def risk_from(regime: Regime, start: datetime, due: datetime) -> datetime:
    """When a clock from ``start`` to ``due`` has used 75 % of its time."""
    return start + (due - start) * AT_RISK_SHARE


def days_label(days: int, basis: str) -> str:
    """``15 days (calendar)`` or ``7 working days``, in the active language."""
    if basis == RegimeBasis.WORKING_DAYS:
        return ngettext("%(days)d working day", "%(days)d working days", days) % {"days": days}
    return ngettext("%(days)d day (calendar)", "%(days)d days (calendar)", days) % {"days": days}


def regime_limit_label(regime: Regime) -> str:
    """The regime's first limit, e.g. ``15 days (calendar)``."""
    return days_label(regime.first_limit_days, regime.basis)
