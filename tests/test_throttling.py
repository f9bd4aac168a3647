"""The rate format of channels/throttling.py: the environment's requests/seconds and DRF's
units are both read; anything else is a configuration error, not a 500 per request."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from channels.throttling import ComplaintFormThrottle


@pytest.mark.parametrize(("rate", "parsed"), [
    ("3000/60", (3000, 60)), ("10/3600", (10, 3600)), ("5/min", (5, 60)),
    ("5/s", (5, 1)), ("20/hour", (20, 3600)), ("1/day", (1, 86400)),
])
def test_rates_in_seconds_or_drf_units(settings, rate, parsed):
    settings.CHANNELS_RATE_LIMITS = {"complain": rate}
    throttle = ComplaintFormThrottle()
    assert (throttle.num_requests, throttle.duration) == parsed


@pytest.mark.parametrize("rate", ["3000/60s", "x/60", "10/0", "10/fortnight1", "10"])
def test_a_bad_rate_is_a_configuration_error(settings, rate):
    settings.CHANNELS_RATE_LIMITS = {"complain": rate}
    with pytest.raises(ImproperlyConfigured, match="complain"):
        ComplaintFormThrottle()


def test_an_unset_scope_takes_its_default(settings):
    settings.CHANNELS_RATE_LIMITS = {"api": "1/60"}
    throttle = ComplaintFormThrottle()
    assert (throttle.num_requests, throttle.duration) == (10, 3600)
