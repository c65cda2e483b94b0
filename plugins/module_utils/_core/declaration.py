# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declaration: its option schema, and user input -> a validated Declaration of grants.

Pure: plain data in, plain data out, no Ansible and no network. Every error is a
SpecError that names the field (``bindings[2].service_accounts[0]: expected
namespace/name``) and is raised before anything talks to a cluster.

``specs.DECLARATION_ARG_SPEC`` is the one source of truth for the declaration options: both modules
use it as their argument spec, the parser below reads its keys, and unit tests hold the
``vmo.rbac.bindings`` doc fragment and the role's ``meta/argument_specs.yml`` to it
(tests/unit/test_schema.py).

Both modules parse the declaration with this code, once per run (module_runner.py), so
``vmo_role_binding`` and ``vmo_rbac_validate`` can never disagree on what was declared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import hashlib
import re
import unicodedata
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import FieldError
from ansible_collections.vmo.rbac.plugins.module_utils._core import namespace_regex, personas
from ansible_collections.vmo.rbac.plugins.module_utils._core import selector as selectors
from ansible_collections.vmo.rbac.plugins.module_utils._core.specs import (
    BINDING_OPTIONS, DECLARATION_ARG_SPEC, DEFAULT_PROTECTED_NAMESPACES, SUBJECT_KINDS, SUBJECT_OPTIONS,
)

RBAC_GROUP = "rbac.authorization.k8s.io"
# the two kinds of binding, named once for every module of the collection
CRB = "ClusterRoleBinding"
RB = "RoleBinding"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "vmo.rbac"
OWNER_LABEL = "vmo.rbac/owner"
PERSONA_LABEL = "vmo.rbac/persona"
SCOPE_LABEL = "vmo.rbac/scope"
TRANSITION_LABEL = "vmo.rbac/transition"
GRANTED_BY_ANNOTATION = "vmo.rbac/granted-by"
# Time-limited grants (docs/expiry.md): the label lists them (kubectl get ... -l vmo.rbac/time-limited),
# the annotations say when the grant was first made time-limited, when it ends, and why it exists.
TIME_LIMITED_LABEL = "vmo.rbac/time-limited"
GRANTED_AT_ANNOTATION = "vmo.rbac/granted-at"
EXPIRES_ANNOTATION = "vmo.rbac/expires"
REASON_ANNOTATION = "vmo.rbac/reason"
OUR_LABELS = (MANAGED_BY_LABEL, OWNER_LABEL, PERSONA_LABEL, SCOPE_LABEL, TRANSITION_LABEL, TIME_LIMITED_LABEL)
OUR_ANNOTATIONS = (GRANTED_BY_ANNOTATION, GRANTED_AT_ANNOTATION, EXPIRES_ANNOTATION, REASON_ANNOTATION)

# ------------------------------------------------------------------------- the schema
# specs.DECLARATION_ARG_SPEC (and its BINDING_OPTIONS, SUBJECT_OPTIONS); the parser below reads its keys.
ENTRY_KEYS = tuple(BINDING_OPTIONS)
SUBJECT_KEYS = tuple(SUBJECT_OPTIONS)
# The declaration's boolean options: Ansible's own conversion decides them (module_runner.py).
FLAG_OPTIONS = ("legacy_dashboard_bindings", "allow_privileged", "console_access", "strict_scopes")
MAX_SUBJECTS_PER_BINDING = 1000
# The largest binding the collection writes, as the JSON it sends (plan_codec.oversized checks every planned object
# before any write: entries of one role and scope merge into one binding, so the per-entry limit above does not
# bound it). etcd refuses a request over its --max-request-bytes (1.5 MiB by default: "etcdserver: request is too
# large"); the object it stores (protobuf, smaller than the JSON) and its key must fit, with room to spare.
MAX_OBJECT_BYTES = 1400000
MAX_SUBJECT_NAME = 512
MAX_PREFIX = 64
MAX_REASON = 1024

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class SpecError(FieldError):
    """Invalid input. ``path`` names the field (``bindings[1].namespaces[0]``)."""


Subject = namedtuple("Subject", "kind name namespace")


def subject_to_api(s):
    out = {"kind": s.kind, "name": s.name}
    if s.kind == "ServiceAccount":
        out["namespace"] = s.namespace
        out["apiGroup"] = ""
    else:
        out["apiGroup"] = RBAC_GROUP
    return out


def subject_from_api(d):
    kind = d.get("kind") or ""
    return Subject(kind, d.get("name") or "", (d.get("namespace") or "") if kind == "ServiceAccount" else "")


def subject_label(s):
    """A readable, unique text for a subject: ``User alice``, ``ServiceAccount ns/ci``."""
    if s.kind == "ServiceAccount":
        return "ServiceAccount %s/%s" % (s.namespace, s.name)
    return "%s %s" % (s.kind, s.name)


# A namespace scope: explicit names, Palette-style regular expressions, label selectors.
# cluster=True means a cluster-wide ClusterRoleBinding (no namespace scope given).
Scope = namedtuple("Scope", "cluster namespaces regexes selectors")
# regexes: tuple of namespace_regex.Rule; selectors: tuple of (source text, requirements)

# One entry of ``bindings`` after validation. console: also bind the console role in the same scope;
# expiry: an expiry.Expiry for a time-limited grant, else None; reason: why the grant exists (text or None).
Grant = namedtuple("Grant", "path role_kind role_name persona subjects scope name console expiry reason",
                   defaults=(None, None))

# max_duration: the longest a time-limited grant may last, in seconds (None: only options.LIMITS bounds it).
# golden_image_namespaces: the namespaces holding the golden images VM templates clone (a tuple of names).
Declaration = namedtuple(
    "Declaration",
    "grants role_set owner oidc_user_prefix oidc_group_prefix legacy_dashboard_bindings allow_privileged "
    "protected_namespaces strict_scopes max_duration golden_image_namespaces",
    defaults=(None, ()),
)


# ------------------------------------------------------------------------ validators


# fullmatch, not match: with match, '$' also matches before a trailing newline ('team-a\n').
def is_dns_label(value):
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS_LABEL.fullmatch(value))


def is_dns_subdomain(value):
    return isinstance(value, str) and len(value) <= 253 and bool(_DNS_SUBDOMAIN.fullmatch(value))


def _check_dns_label(path, value, what):
    if not isinstance(value, str):
        raise SpecError(path, "expected a %s name (string), got %s" % (what, _type(value)))
    if not is_dns_label(value):
        raise SpecError(
            path,
            "%r is not a valid %s name (RFC 1123 label: at most 63 lowercase alphanumerics or '-', "
            "starting and ending with an alphanumeric)" % (value, what),
        )


def _check_dns_subdomain(path, value, what):
    if not isinstance(value, str):
        raise SpecError(path, "expected a %s name (string), got %s" % (what, _type(value)))
    if not is_dns_subdomain(value):
        raise SpecError(
            path,
            "%r is not a valid %s name (RFC 1123 subdomain: at most 253 lowercase alphanumerics, "
            "'-' or '.', starting and ending with an alphanumeric)" % (value, what),
        )


def _check_role_name(path, value):
    # RBAC role names are path segments: any text without '/' or '%', not '.' or '..'.
    if not isinstance(value, str) or not value:
        raise SpecError(path, "expected a role name (non-empty string), got %s" % _type(value))
    if value in (".", "..") or "/" in value or "%" in value or len(value) > 253 or _bad_chars(value):
        raise SpecError(path, "%r is not a valid role name" % (value,))


def _bad_chars(text):
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for ch in text)


def _check_subject_name(path, value):
    if not isinstance(value, str):
        raise SpecError(path, "expected a name (string), got %s" % _type(value))
    if not value:
        raise SpecError(path, "empty name")
    if value != value.strip():
        raise SpecError(path, "%r has leading or trailing whitespace" % (value,))
    if len(value) > MAX_SUBJECT_NAME:
        raise SpecError(path, "name is %d characters long; at most %d" % (len(value), MAX_SUBJECT_NAME))
    if _bad_chars(value):
        raise SpecError(path, "%r contains control or invisible characters" % (value,))


def _type(value):
    if value is None:
        return "nothing (null)"
    return {
        bool: "a boolean", int: "a number", float: "a number", dict: "a mapping",
        list: "a list", str: "a string",
    }.get(type(value), type(value).__name__)


# kube-apiserver's --oidc-username-prefix=- means "no prefix" (and an unset flag means the issuer URL and '#'
# for claims other than email). Only the user name flag gives "-" that meaning: --oidc-groups-prefix=- prefixes
# every group with "-" (pkg/kubeapiserver/options/authentication.go), so oidc_group_prefix takes "-" literally.
NO_USER_PREFIX = "-"


def _check_prefix(path, value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SpecError(path, "expected a string, got %s" % _type(value))
    if len(value) > MAX_PREFIX or _bad_chars(value) or value != value.strip() or " " in value:
        raise SpecError(path, "%r is not a valid OIDC prefix (no whitespace or control characters, "
                              "at most %d characters)" % (value, MAX_PREFIX))
    return value


def _str_list(path, value):
    if value is None:
        return []
    if isinstance(value, str):
        raise SpecError(path, "expected a list, got a string (write [%r])" % value)
    if not isinstance(value, (list, tuple)):
        raise SpecError(path, "expected a list, got %s" % _type(value))
    return list(value)


def _suggest(key, choices):
    close = difflib.get_close_matches(str(key), choices, n=1)
    return " (did you mean %r?)" % close[0] if close else ""


def parse_regex(path, value):
    """A Palette namespace rule (``/re/``, ``re`` or ``~/re/``): namespace_regex.Rule."""
    if not isinstance(value, str) or not value:
        raise SpecError(path, "expected a regular expression (non-empty string), got %s" % _type(value))
    try:
        return namespace_regex.parse(value)
    except namespace_regex.RegexError as exc:
        raise SpecError(path, str(exc))


def parse_selector(path, value):
    try:
        return value.strip(), selectors.parse(value)
    except (selectors.SelectorError, AttributeError) as exc:
        raise SpecError(path, "invalid label selector %r: %s" % (value, exc))


# ----------------------------------------------------------------------- subjects


def _apply_prefix(prefix, name):
    if not prefix or name.startswith(prefix) or name.startswith("system:"):
        return name
    return prefix + name


def _parse_subjects(path, entry, user_prefix, group_prefix, allow_privileged):
    found = []

    def add(spath, kind, name):
        """A User or Group subject: validated, OIDC-prefixed, checked against the guard."""
        _check_subject_name(spath, name)
        if kind == "User" and name.startswith("system:serviceaccount:"):
            raise SpecError(spath, "%r is a ServiceAccount; write it as service_accounts: [namespace/name]"
                            % name)
        name = _apply_prefix(user_prefix if kind == "User" else group_prefix, name)
        reach = personas.privileged_reach(kind, name)
        if reach and not allow_privileged:
            raise SpecError(spath, "granting a role to %s %r reaches %s; refused unless allow_privileged is true"
                            % (kind, name, reach))
        found.append(Subject(kind, name, ""))

    for i, name in enumerate(_str_list(path + ".users", entry.get("users"))):
        add("%s.users[%d]" % (path, i), "User", name)
    for i, name in enumerate(_str_list(path + ".groups", entry.get("groups"))):
        add("%s.groups[%d]" % (path, i), "Group", name)
    for i, ref in enumerate(_str_list(path + ".service_accounts", entry.get("service_accounts"))):
        spath = "%s.service_accounts[%d]" % (path, i)
        if not isinstance(ref, str) or ref.count("/") != 1:
            raise SpecError(spath, "expected namespace/name, got %r" % (ref,))
        ns, name = ref.split("/")
        if not ns or not name:
            raise SpecError(spath, "expected namespace/name, got %r" % (ref,))
        _check_dns_label(spath, ns, "namespace")
        _check_dns_subdomain(spath, name, "ServiceAccount")
        found.append(Subject("ServiceAccount", name, ns))
    for i, subj in enumerate(_str_list(path + ".subjects", entry.get("subjects"))):
        spath = "%s.subjects[%d]" % (path, i)
        if not isinstance(subj, dict):
            raise SpecError(spath, "expected a mapping with kind and name, got %s" % _type(subj))
        for key in subj:
            if key not in SUBJECT_KEYS:
                raise SpecError("%s.%s" % (spath, key), "unknown option%s; expected one of %s"
                                % (_suggest(key, SUBJECT_KEYS), ", ".join(SUBJECT_KEYS)))
        kind = subj.get("kind")
        if kind not in SUBJECT_KINDS:
            raise SpecError(spath + ".kind", "unknown subject kind %r; expected one of %s"
                            % (kind, ", ".join(SUBJECT_KINDS)))
        api_group = subj.get("api_group")
        expected_group = "" if kind == "ServiceAccount" else RBAC_GROUP
        if api_group not in (None, expected_group):
            raise SpecError(spath + ".api_group", "a %s subject has apiGroup %r, not %r"
                            % (kind, expected_group, api_group))
        name = subj.get("name")
        if kind == "ServiceAccount":
            if not subj.get("namespace"):
                raise SpecError(spath + ".namespace", "a ServiceAccount subject needs its namespace")
            _check_dns_subdomain(spath + ".name", name, "ServiceAccount")
            _check_dns_label(spath + ".namespace", subj.get("namespace"), "namespace")
            found.append(Subject("ServiceAccount", name, subj["namespace"]))
        else:
            if subj.get("namespace"):
                raise SpecError(spath + ".namespace", "only ServiceAccount subjects have a namespace")
            add(spath + ".name", kind, name)
    return found


# -------------------------------------------------------------------------- entries


def _parse_scope(path, entry):
    names, regexes, sels = [], [], []
    if "namespaces" in entry and entry.get("namespaces") is not None:
        raw = _str_list(path + ".namespaces", entry.get("namespaces"))
        if not raw:
            raise SpecError(path + ".namespaces", "empty list; omit namespaces for a cluster-wide grant")
        for i, ns in enumerate(raw):
            _check_dns_label("%s.namespaces[%d]" % (path, i), ns, "namespace")
            names.append(ns)  # duplicates kept, so that resolve() names the right index
    regex = entry.get("namespace_regex")
    if isinstance(regex, list) and not regex:
        # An empty list must not fall through to "no scope", which means cluster-wide.
        raise SpecError(path + ".namespace_regex", "empty list; omit namespace_regex for a cluster-wide grant")
    if regex is not None:
        values = regex if isinstance(regex, list) else [regex]
        for i, r in enumerate(values):
            rpath = path + ".namespace_regex" + ("[%d]" % i if isinstance(regex, list) else "")
            regexes.append(parse_regex(rpath, r))
    sel = entry.get("namespace_selector")
    if isinstance(sel, list) and not sel:
        raise SpecError(path + ".namespace_selector", "empty list; omit namespace_selector for a cluster-wide "
                                                      "grant")
    if sel is not None:
        values = sel if isinstance(sel, list) else [sel]
        for i, s in enumerate(values):
            spath = path + ".namespace_selector" + ("[%d]" % i if isinstance(sel, list) else "")
            if not isinstance(s, str):
                raise SpecError(spath, "expected a label selector string such as 'team=vm', got %s" % _type(s))
            sels.append(parse_selector(spath, s))
    cluster = not (names or regexes or sels)
    return Scope(cluster, tuple(names), tuple(regexes), tuple(sels))


def parse_entry(index, entry, role_set, user_prefix, group_prefix, allow_privileged, console_access=False):
    path = "bindings[%d]" % index
    if not isinstance(entry, dict):
        raise SpecError(path, "expected a mapping (persona/cluster_role/role plus subjects), got %s" % _type(entry))
    for key in entry:
        if key not in ENTRY_KEYS:
            raise SpecError("%s.%s" % (path, key), "unknown option%s; expected one of %s"
                            % (_suggest(key, ENTRY_KEYS), ", ".join(ENTRY_KEYS)))
    given = [k for k in ("persona", "cluster_role", "role") if entry.get(k) is not None]
    if len(given) != 1:
        raise SpecError(path, "give exactly one of persona, cluster_role or role (%s)"
                        % ("got " + " and ".join(given) if given else "got none"))
    persona = None
    if entry.get("persona") is not None:
        persona = entry["persona"]
        if not isinstance(persona, str):
            raise SpecError(path + ".persona", "expected a persona name (string), got %s" % _type(persona))
        if persona not in personas.PERSONAS:
            raise SpecError(path + ".persona", "unknown persona %r%s; expected one of %s"
                            % (persona, _suggest(persona, personas.PERSONAS), ", ".join(personas.PERSONAS)))
        role_kind, role_name = "ClusterRole", personas.ROLE_SETS[role_set][persona]
    elif entry.get("cluster_role") is not None:
        role_kind, role_name = "ClusterRole", entry["cluster_role"]
        _check_role_name(path + ".cluster_role", role_name)
        persona = personas.persona_for_role(role_set, role_name)
    else:
        role_kind, role_name = "Role", entry["role"]
        _check_role_name(path + ".role", role_name)

    name = entry.get("name")
    if name is not None:
        _check_dns_subdomain(path + ".name", name, "binding")

    scope = _parse_scope(path, entry)
    if role_kind == "Role" and scope.cluster:
        raise SpecError(path + ".role", "a Role exists in one namespace; give namespaces, namespace_regex or "
                                        "namespace_selector (or use cluster_role for a cluster-wide grant)")
    if (role_kind == "ClusterRole" and role_name in personas.PRIVILEGED_CLUSTER_ROLES and scope.cluster
            and not allow_privileged):
        why = " (role_set %s maps persona %s to it)" % (role_set, persona) if entry.get("persona") else ""
        raise SpecError(path, "granting %s cluster-wide%s is refused unless allow_privileged is true"
                        % (role_name, why))

    subjects = _parse_subjects(path, entry, user_prefix, group_prefix, allow_privileged)
    if not subjects:
        raise SpecError(path, "no subjects; give users, groups, service_accounts or subjects")
    unique = frozenset(subjects)
    if len(unique) > MAX_SUBJECTS_PER_BINDING:
        raise SpecError(path, "%d subjects; at most %d per binding (a Kubernetes object must stay well under "
                              "etcd's 1.5 MiB limit; grant to a group instead)"
                        % (len(unique), MAX_SUBJECTS_PER_BINDING))
    console = entry.get("console_access")
    if console is not None and not isinstance(console, bool):
        raise SpecError(path + ".console_access", "expected true or false, got %s" % _type(console))
    return Grant(path, role_kind, role_name, persona, unique, scope, name,
                 console_access if console is None else console,
                 _parse_expires(path + ".expires", entry.get("expires")), _parse_reason(path + ".reason", entry))


def _parse_expires(path, value):
    """The entry's ``expires`` (an RFC 3339 time with an offset, or a duration) -> expiry.Expiry or None.
    Whether the time is in the past, or longer than allowed, needs the time of the run: options.py
    (limits) and plan_expiry.py (a grant that would end before it starts) decide that."""
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise SpecError(path, "expected an RFC 3339 time (2026-12-05T18:00:00Z) or a duration (8h), got a "
                                  "number; write a duration with its unit, for example 8h")
        raise SpecError(path, "expected an RFC 3339 time (2026-12-05T18:00:00Z) or a duration (8h), got %s"
                        % _type(value))
    try:
        return expiries.parse(value)
    except expiries.ExpiryError as exc:
        raise SpecError(path, str(exc))


def _parse_reason(path, entry):
    """Why the grant exists (a ticket, an incident), recorded on its bindings (``vmo.rbac/reason``)."""
    reason = entry.get("reason")
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise SpecError(path, "expected a text, got %s" % _type(reason))
    text = reason.strip()
    if not text:
        raise SpecError(path, "empty; say why the grant exists (a ticket, an incident), or leave reason out")
    if len(text) > MAX_REASON:
        raise SpecError(path, "%d characters long; at most %d" % (len(text), MAX_REASON))
    if _bad_chars(text):
        raise SpecError(path, "contains control or invisible characters (one line of text, please)")
    return text


def parse_max_duration(value):
    """``max_duration``: a duration such as 8h -> seconds, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecError("max_duration", "expected a duration such as 8h, got %s" % _type(value))
    try:
        return expiries.parse_duration(value)
    except expiries.ExpiryError as exc:
        raise SpecError("max_duration", str(exc))


def from_module_args(args, legacy_dashboard_bindings=False, allow_privileged=False, console_access=False,
                     strict_scopes=False):
    """The Declaration of module arguments as the user wrote them (before Ansible converts any
    value: ``users: [[alice]]`` must be refused, not bound as the User ``"['alice']"``).

    Options not given take their defaults; an empty ``owner`` (an unset variable rendered as
    '') is an error, never the default owner: with purge it would delete the default owner's
    bindings. The booleans come converted (Ansible's rules: ``"yes"`` is true)."""
    def given(name):
        value = args.get(name)
        return DECLARATION_ARG_SPEC[name]["default"] if value is None else value

    bindings = args.get("bindings")
    if isinstance(bindings, list):
        bindings = [_without_nulls(e) if isinstance(e, dict) else e for e in bindings]
    return parse_declaration(
        bindings, role_set=given("role_set"), owner=given("owner"),
        oidc_user_prefix=given("oidc_user_prefix"), oidc_group_prefix=given("oidc_group_prefix"),
        legacy_dashboard_bindings=legacy_dashboard_bindings, allow_privileged=allow_privileged,
        console_access=console_access, protected_namespaces=given("protected_namespaces"),
        strict_scopes=strict_scopes, max_duration=args.get("max_duration"),
        golden_image_namespaces=given("golden_image_namespaces"))


def _without_nulls(entry):
    """A binding entry without the keys given as null (a YAML ``users:`` with nothing after it)."""
    out = {}
    for k, v in entry.items():
        if v is None:
            continue
        if k == "subjects" and isinstance(v, list):
            v = [{sk: sv for sk, sv in s.items() if sv is not None} if isinstance(s, dict) else s for s in v]
        out[k] = v
    return out


def parse_declaration(bindings, role_set="vmo", owner="vmo-rbac", oidc_user_prefix="", oidc_group_prefix="",
                      legacy_dashboard_bindings=False, allow_privileged=False, console_access=False,
                      protected_namespaces=None, strict_scopes=False, max_duration=None, golden_image_namespaces=None):
    """Validate everything the user declared; return a Declaration or raise SpecError."""
    if not isinstance(role_set, str):
        raise SpecError("role_set", "expected a string, got %s" % _type(role_set))
    if role_set not in personas.ROLE_SETS:
        raise SpecError("role_set", "unknown role set %r%s; expected one of %s"
                        % (role_set, _suggest(role_set, list(personas.ROLE_SETS)), ", ".join(personas.ROLE_SETS)))
    _check_dns_label("owner", owner, "owner")
    user_prefix = _check_prefix("oidc_user_prefix", oidc_user_prefix)
    if user_prefix == NO_USER_PREFIX:
        user_prefix = ""
    group_prefix = _check_prefix("oidc_group_prefix", oidc_group_prefix)
    if bindings is None:
        bindings = []
    if not isinstance(bindings, (list, tuple)):
        raise SpecError("bindings", "expected a list of grants, got %s" % _type(bindings))
    protected = _parse_protected(DEFAULT_PROTECTED_NAMESPACES if protected_namespaces is None
                                 else protected_namespaces)
    max_seconds = parse_max_duration(max_duration)
    grants = [parse_entry(i, e, role_set, user_prefix, group_prefix, allow_privileged, bool(console_access))
              for i, e in enumerate(bindings)]
    golden = _parse_golden(golden_image_namespaces)
    for i, ns in enumerate(golden):
        if ns in protected:
            # the golden-image role lets every namespace-restricted deployer clone every disk of the namespace
            raise SpecError("golden_image_namespaces[%d]" % i, "%r is a protected namespace (protected_namespaces): "
                            "every volume of a golden-image namespace becomes a clone source for every "
                            "namespace-restricted persona that deploys VMs" % ns)
    return Declaration(tuple(grants), role_set, owner, user_prefix, group_prefix,
                       bool(legacy_dashboard_bindings), bool(allow_privileged), protected, bool(strict_scopes),
                       max_seconds, golden)


MAX_GOLDEN_IMAGE_NAMESPACES = 100


def _parse_golden(value):
    """golden_image_namespaces: names of namespaces (each once, in the given order)."""
    names = _str_list("golden_image_namespaces", value)
    if len(names) > MAX_GOLDEN_IMAGE_NAMESPACES:
        raise SpecError("golden_image_namespaces",
                        "%d namespaces; at most %d" % (len(names), MAX_GOLDEN_IMAGE_NAMESPACES))
    out = []
    for i, ns in enumerate(names):
        _check_dns_label("golden_image_namespaces[%d]" % i, ns, "namespace")
        if ns not in out:
            out.append(ns)
    return tuple(out)


def _parse_protected(value):
    names = _str_list("protected_namespaces", value)
    for i, ns in enumerate(names):
        _check_dns_label("protected_namespaces[%d]" % i, ns, "namespace")
    return frozenset(names)


# ---------------------------------------------------------------------------- names


def _slug(text):
    # Each dot-separated part must start and end with an alphanumeric: 'a_.b' must not
    # become the invalid 'a-.b'.
    slug = re.sub(r"[^a-z0-9.-]+", "-", text.lower())
    parts = [re.sub(r"-{2,}", "-", part).strip("-") for part in slug.split(".")]
    return ".".join(part for part in parts if part) or "role"


TIME_LIMITED_SUFFIX = "-expiring"


def binding_name(owner, role_kind, role_name, override=None, time_limited=False):
    """Deterministic, readable binding names: ``vmo-rbac-spectro-vm-admin``,
    ``vmo-rbac-kubevirt.io-admin``, ``vmo-rbac-role-vm-operator`` (a namespaced Role).

    A time-limited grant gets a binding of its own, ``vmo-rbac-spectro-vm-admin-expiring``, so that it
    never merges with a permanent grant of the same role in the same scope (docs/expiry.md)."""
    if override:
        return override
    middle = "role-" if role_kind == "Role" else ""
    suffix = TIME_LIMITED_SUFFIX if time_limited else ""
    return (owner + "-" + middle + _slug(role_name))[:253 - len(suffix)].rstrip("-.") + suffix


def derived_name(name, suffix):
    """``<name><suffix>``: the name of a binding that goes with binding ``name`` (the console or legacy
    bindings of a time-limited grant). A name too long for the suffix is cut and keeps a digest of the
    whole name, so that two long names never share one."""
    if len(name) + len(suffix) <= 253:
        return name + suffix
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return name[:253 - len(suffix) - 11].rstrip("-.") + "-" + digest + suffix


TRANSITION_SUFFIX = "-transition"


def transition_name(name):
    """The name of the short-lived binding that bridges an in-place roleRef change: ``<name>-transition``.

    A name too long for the suffix is cut and keeps a digest of the whole name, so that two long
    names that share their first 230 characters never share a transition binding."""
    if len(name) + len(TRANSITION_SUFFIX) <= 253:
        return name + TRANSITION_SUFFIX
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return name[:230].rstrip("-.") + "-" + digest + TRANSITION_SUFFIX
