"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test creates its sanity virtual environments without pip and then runs
a get-pip script downloaded from Ansible's CI file host to
install pip into them.  That host is unreachable from here, but ansible-test
first looks for a cached copy at ``~/.ansible/test/cache/get_pip_<ver>.py``
(``get_pip_24_2.py`` for ansible-core 2.19), which is where ``make
sanity-bootstrap`` installs this file (``~`` being the HOME that ``make sanity``
gives ansible-test, .build/ansible-test-home).

It is called as ``python get_pip_24_2.py [pip options] pip==24.2 --no-setuptools
--no-wheel``.  We bootstrap any pip with ``ensurepip`` (bundled with CPython)
and then install the requested pip offline from the wheel that ``make
sanity-bootstrap`` downloaded beforehand with the normal pip into
``pip-wheels/`` next to this file.  The two get-pip-only flags are dropped; every
other argument is passed to ``pip install`` unchanged.  Everything after that
(ansible-test's own requirement installs) goes through that pip to PyPI as usual.
"""

import os
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}
WHEEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-wheels")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    if not os.path.isdir(WHEEL_DIR):
        sys.exit(
            "get-pip stand-in: %s is missing; run 'make sanity-bootstrap' in the vmo.rbac checkout" % WHEEL_DIR
        )
    try:
        import pip  # noqa: F401  (already present: nothing to bootstrap)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    subprocess.check_call(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", WHEEL_DIR] + args
    )


if __name__ == "__main__":
    main()
