#!/usr/bin/env python3
"""Generate the files that are derived from plugins/module_utils/personas.py.

    files/reference-roles.yaml   the spectro-vm-* and legacy dashboard ClusterRoles

``make generated`` writes them; ``--check`` (used by the unit tests) fails when a
committed file differs from what the code says, so data and docs never drift apart.
"""

import argparse
import difflib
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build" / "collections"))

from ansible_collections.vmo.rbac.plugins.module_utils import personas  # noqa: E402


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def dump_all(docs):
    return yaml.dump_all(docs, Dumper=_NoAliases, sort_keys=False, explicit_start=True, width=100)


def reference_roles():
    return (
        "# Generated from plugins/module_utils/personas.py by `make generated`; do not edit.\n"
        "# Reference definitions of the VMO persona ClusterRoles (spectro-vm-*) and of the legacy\n"
        "# VM Dashboard roles (spectro-list-*). They satisfy the capability matrix of docs/personas.md\n"
        "# exactly. On a VMO cluster the pack owns the real roles: apply these only on plain KubeVirt,\n"
        "# with the vmo.rbac.vmo_cluster_roles module (roles: [personas, legacy]), which never touches a\n"
        "# role it did not create, or by hand: kubectl apply -f files/reference-roles.yaml\n"
        + dump_all(personas.reference_cluster_roles())
    )


def console_role():
    return (
        "# Generated from plugins/module_utils/personas.py by `make generated`; do not edit.\n"
        "# The least-privilege VM console role that console_access binds in a grant's scope: find VMs\n"
        "# and open their serial console and VNC display, nothing else. Apply it with the\n"
        "# vmo.rbac.vmo_cluster_roles module (roles: [console]), or: kubectl apply -f files/console-role.yaml\n"
        + dump_all([personas.console_cluster_role()])
    )


GENERATED = {
    "files/reference-roles.yaml": reference_roles,
    "files/console-role.yaml": console_role,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = ap.parse_args(argv)
    stale = []
    for rel, make in GENERATED.items():
        path = ROOT / rel
        text = make()
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale.append(rel)
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), rel + " (committed)", rel + " (generated)"))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print("wrote " + rel)
    if stale:
        print("out of date: %s; run `make generated`" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
