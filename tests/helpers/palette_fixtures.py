"""pytest fixtures for the Palette API stand-in (registered by tests/conftest.py).

``palette_standin``: a fresh stand-in per test (its own state, port and TLS CA), stopped at the end.
A test fails at teardown when the stand-in saw a request or sent a response that does not fit the
pinned specification (a test that provokes one on purpose takes it with ``take_violations()``), or
when its agent could not apply RBAC items to a cluster.
"""

from __future__ import annotations

import pytest

from tests.helpers.palette_standin import PaletteStandIn, load_spec


@pytest.fixture(scope="session")
def palette_spec():
    """The pinned specification, loaded once per test process (about 0.1 s)."""
    return load_spec()


@pytest.fixture
def palette_standin(tmp_path, palette_spec):
    standin = PaletteStandIn(tmp_path / "palette-standin", spec=palette_spec).start()
    try:
        yield standin
    finally:
        standin.stop()
    violations = standin.take_violations()
    assert not violations, "the Palette stand-in saw traffic that leaves the specification:\n" + "\n".join(violations)
    assert not standin.agent_errors, "the stand-in's agent failed: %s" % standin.agent_errors
