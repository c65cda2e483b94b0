# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: vmo_rbac_expires_at
short_description: The moment a time-limited grant ends, from a duration counted from now
version_added: 0.2.0
author:
  - vmo.rbac maintainers
description:
  - Turns a duration such as V(2h) into the RFC 3339 time (UTC) that is that long from now, for the
    C(expires) of a binding entry, refusing more than O(max_duration).
  - A duration given directly as C(expires) counts from the run that first made the grant time-limited,
    so asking again for the same grant does not move its end; an end computed with this filter does.
    The break-glass playbook C(vmo.rbac.break_glass) uses it, so that a repeated request extends (or
    shortens) the grant from the time of the request.
  - Also takes an RFC 3339 time with an offset (returned in UTC, refused when it has passed or is further
    than O(max_duration)), and V(now), the time of the run (which ends a grant at once).
  - The syntax of durations and times is that of C(expires) (the same code reads both).
positional: _input, max_duration, name
options:
  _input:
    description:
      - A duration (V(8h), V(90m), V(1d12h), V(2w); units C(w), C(d), C(h), C(m), C(s)), an RFC 3339 time with an
        offset, or V(now).
    type: str
    required: true
  max_duration:
    description:
      - The longest allowed, a duration such as V(8h); a longer one is an error naming this argument.
      - Without it, at most a year (366 days), the most a time-limited grant may last.
    type: str
  name:
    description:
      - What to call the input in error messages, for example the survey variable it comes from. Defaults to
        C(_input).
    type: str
notes:
  - Evaluate it once and keep the result (M(ansible.builtin.set_fact), with C(run_once) for a fleet), since a
    template is evaluated each time it is used, and "now" moves.
seealso:
  - module: vmo.rbac.vmo_role_binding
"""

EXAMPLES = r"""
- name: A grant for two hours from now, whatever ran before
  vmo.rbac.vmo_role_binding:
    bindings:
      - persona: admin
        users: [oncall@example.com]
        namespaces: [payments]
        expires: "{{ '2h' | vmo.rbac.vmo_rbac_expires_at(max_duration='8h') }}"
        reason: INC-4711
"""

RETURN = r"""
_value:
  description: The moment, in RFC 3339 with the UTC designator C(Z) and whole seconds.
  type: str
  sample: "2026-12-05T19:00:00Z"
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry, options


def vmo_rbac_expires_at(value, max_duration=None, name=None):
    """The RFC 3339 end of a grant that lasts ``value`` from now; see DOCUMENTATION."""
    what = name or "_input"
    try:
        now, _note = expiry.run_time()
    except expiry.ExpiryError as exc:
        raise AnsibleFilterError("vmo_rbac_expires_at: %s" % exc)
    ceiling = options.LIMITS["max_duration"][1]
    longest = ceiling
    if max_duration is not None:
        try:
            longest = expiry.parse_duration(max_duration)
        except expiry.ExpiryError as exc:
            raise AnsibleFilterError("vmo_rbac_expires_at: argument 'max_duration': %s" % exc)
        if longest > ceiling:
            raise AnsibleFilterError("vmo_rbac_expires_at: argument 'max_duration': %s is longer than a time-limited "
                                     "grant may last (%s)" % (max_duration, expiry.format_duration(ceiling)))
    if isinstance(value, str) and value.strip() == "now":
        return expiry.format_time(now)
    try:
        parsed = expiry.parse(value)
    except expiry.ExpiryError as exc:
        raise AnsibleFilterError("vmo_rbac_expires_at: argument '%s': %s" % (what, exc))
    limit = ("max_duration %s" % max_duration if max_duration is not None
             else "a year (the most a time-limited grant may last)")
    if parsed.seconds is not None and parsed.seconds > longest:
        # before any date arithmetic: a duration may be longer than a date can count (99999999999d)
        raise AnsibleFilterError("vmo_rbac_expires_at: argument '%s': %s is longer than %s" % (what, value, limit))
    try:
        end = expiry.ends(parsed, now)
    except OverflowError:  # only with a test clock at the end of the calendar
        raise AnsibleFilterError("vmo_rbac_expires_at: argument '%s': %s from %s is after the year 9999"
                                 % (what, value, expiry.format_time(now)))
    left = expiry.seconds_between(now, end)
    if left <= 0:
        raise AnsibleFilterError("vmo_rbac_expires_at: argument '%s': %s has passed (now is %s)"
                                 % (what, value, expiry.format_time(now)))
    if left > longest:
        raise AnsibleFilterError("vmo_rbac_expires_at: argument '%s': %s is longer than %s"
                                 % (what, value if parsed.seconds is not None else "%s (%s from now)"
                                    % (value, expiry.format_duration(left)), limit))
    return expiry.format_time(end)


class FilterModule(object):
    """vmo.rbac time filters."""

    def filters(self):
        return {"vmo_rbac_expires_at": vmo_rbac_expires_at}
