# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time-limited grants: the ``expires`` of a binding entry, the times the bindings record, time left.

Pure, except ``run_time``: no Ansible, no network, and no clock. The time of a run is an input
of the core (``Options.now``, ``plan_order.plan(..., now=)``); ``run_time`` is the one place that
reads the clock, called by the edges (module_runner.py once per module run, the
``vmo_rbac_expires_at`` filter), so that tests move time by giving another ``now`` instead of
sleeping for hours.

``expires`` is either an RFC 3339 time with an offset (``2026-12-05T18:00:00+01:00``,
``2026-12-05T17:00:00Z``), or a duration (``8h``, ``90m``, ``1d12h``, ``2w``) counted from the
run that first made the grant time-limited, which the binding records (``vmo.rbac/granted-at``).
docs/expiry.md explains the design.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import time
from collections import namedtuple

UTC = datetime.timezone.utc

# The test clock: an RFC 3339 time that the modules (and the filter) take as "now" instead of the
# machine's clock. Only later than the machine's clock: it can end grants early, never bring an
# expired one back. The modules warn whenever it is in effect. For tests; never set it in production.
TEST_CLOCK_ENV = "VMO_RBAC_TEST_NOW"

# ``at``: an aware datetime in UTC (an RFC 3339 time), or None; ``seconds``: a duration, or None.
# ``text``: the value as written, for messages.
Expiry = namedtuple("Expiry", "text at seconds")

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_MAX_TEXT = 64


class ExpiryError(ValueError):
    """A time or duration that cannot be read; the message says what is expected."""


def parse_time(value):
    """An RFC 3339 time with an offset -> an aware datetime in UTC, whole seconds (fractions are
    dropped: the annotations hold whole seconds). A time without an offset is refused: which
    zone it means depends on the machine that reads it."""
    if not isinstance(value, str):
        raise ExpiryError("expected an RFC 3339 time, got %s" % type(value).__name__)
    m = _RFC3339.fullmatch(value.strip())
    if not m:
        raise ExpiryError("%r is not an RFC 3339 time such as 2026-12-05T18:00:00+01:00" % (value,))
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    zone = m.group(8)
    if zone is None:
        raise ExpiryError("%r has no time zone offset; write it with Z (UTC) or +HH:MM / -HH:MM, for example "
                          "%sZ" % (value, value.strip()))
    if zone in ("Z", "z"):
        offset = datetime.timedelta(0)
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ExpiryError("%r has an invalid time zone offset %s" % (value, zone))
        offset = datetime.timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
    try:
        local = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone(offset))
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ExpiryError("%r is not a valid time (%s)" % (value, exc))


def parse_duration(value):
    """``8h``, ``90m``, ``1d12h``, ``2w``, ``45s`` -> seconds (units w, d, h, m, s, largest first)."""
    if not isinstance(value, str):
        raise ExpiryError("expected a duration such as 8h, got %s" % type(value).__name__)
    if len(value) > _MAX_TEXT:  # before int(): Python refuses more than 4300 digits with a ValueError of its own
        raise ExpiryError("%d characters long; a duration is at most %d" % (len(value), _MAX_TEXT))
    m = _DURATION.fullmatch(value.strip())
    if not value.strip() or not m:
        raise ExpiryError("%r is not a duration such as 8h, 90m, 1d12h or 2w (units w, d, h, m, s, largest "
                          "first)" % (value,))
    seconds = sum(int(g) * unit for g, (_u, unit) in zip(m.groups(), _UNITS) if g)
    if seconds <= 0:
        raise ExpiryError("%r is no time at all; a time-limited grant must last a while" % (value,))
    return seconds


def parse(value):
    """The ``expires`` of a binding entry: an RFC 3339 time or a duration -> Expiry."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise ExpiryError("expected an RFC 3339 time (2026-12-05T18:00:00Z) or a duration (8h), got a number; "
                          "write a duration with its unit, for example 8h")
    if not isinstance(value, str) or not value.strip():
        raise ExpiryError("expected an RFC 3339 time (2026-12-05T18:00:00Z) or a duration (8h), got %s"
                          % ("an empty string" if isinstance(value, str) else type(value).__name__))
    if len(value) > _MAX_TEXT:
        raise ExpiryError("%d characters long; an RFC 3339 time or a duration is at most %d" % (len(value), _MAX_TEXT))
    text = value.strip()
    if _DATE_ONLY.fullmatch(text):
        raise ExpiryError("%r is a date without a time; write the moment the grant ends with its offset, for "
                          "example %sT18:00:00Z" % (value, text))
    if "-" in text or ":" in text:
        return Expiry(text, parse_time(text), None)
    if _DURATION.fullmatch(text) is None:
        raise ExpiryError("%r is neither an RFC 3339 time (2026-12-05T18:00:00Z) nor a duration (8h, 90m, 1d12h, "
                          "2w; units w, d, h, m, s, largest first)" % (value,))
    return Expiry(text, None, parse_duration(text))


def format_time(moment):
    """An aware datetime as the annotations hold it: RFC 3339 in UTC, whole seconds (``...Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds):
    """Seconds as a duration in the syntax ``expires`` takes: ``1d12h``, ``90m`` -> ``1h30m``."""
    seconds = int(seconds)
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in _UNITS[1:]:
        if seconds >= size:
            out.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(out)


def time_left(seconds):
    """How long until the end (``2h13m left``), or since it (``expired 5m ago``), minutes rounded down."""
    seconds = int(seconds)
    if seconds > 0:
        return "%s left" % format_duration(seconds if seconds < 3600 else seconds - seconds % 60)
    ago = -seconds
    return "expired %s ago" % format_duration(ago if ago < 3600 else ago - ago % 60) if ago else "expires now"


def ends(expiry, granted_at):
    """When a grant of ``expiry`` made at ``granted_at`` ends (an aware UTC datetime)."""
    if expiry.at is not None:
        return expiry.at
    return granted_at + datetime.timedelta(seconds=expiry.seconds)


def seconds_between(start, end):
    return int((end - start).total_seconds())


def run_time(environ=None, clock=time.time):
    """The time of a run, read once by an edge: (aware UTC datetime, whole seconds; a note when the
    test clock is in effect, else None). Raises ExpiryError for a test clock that cannot be read or
    that would turn time back."""
    environ = os.environ if environ is None else environ
    real = datetime.datetime.fromtimestamp(int(clock()), UTC)
    shifted = environ.get(TEST_CLOCK_ENV)
    if not shifted:
        return real, None
    try:
        moment = parse_time(shifted)
    except ExpiryError as exc:
        raise ExpiryError("%s: %s" % (TEST_CLOCK_ENV, exc))
    if moment < real:
        raise ExpiryError("%s=%s is earlier than the clock (%s); the test clock only moves time forward, so that it "
                          "can end grants early but never bring an expired one back"
                          % (TEST_CLOCK_ENV, shifted, format_time(real)))
    return moment, ("the time of this run is %s, from %s (a test clock; the machine's clock says %s)"
                    % (format_time(moment), TEST_CLOCK_ENV, format_time(real)))
