"""The HTML access matrix, looked at in a real headless Chromium.

Debian's chromium with its chromium-driver (tests/tools/ensure_chromium.sh installs both), driven
through Selenium WebDriver. Why this pairing: Debian builds the browser and the driver from one
source package, so their versions always agree; WebDriver is a W3C standard that Selenium speaks
without a bundled browser; and ChromeDriver's browser log reports console errors, uncaught
exceptions and failed loads as structured entries. (Playwright is only guaranteed with its own
browser builds, which cannot be downloaded here; scraping ``chromium --enable-logging=stderr``
depends on a log format that headless mode does not keep stable.)

No cluster is needed: the page is rendered from the same realistic fleets as the unit tests (a
cluster with violations, drift and unchecked cells, a clean one, an unreachable one; a run
under --check with namespace rules, a rule that matched nothing, an optional console check with
its note and pending checks; and a fleet validated with the exclusive audit, whose "who else can"
section lists undeclared holders with the bindings to remove). A missing
Chromium or driver fails the test with the command that installs it; it never skips.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import struct
from pathlib import Path

import pytest

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import html_format, model
from tests.unit.plugins.plugin_utils.report.test_report import HOSTILE, hostile_results, newer_results, sample_results, who_else_results

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "reports" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1")
WIDTH = 1440


def _require_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(p) and os.access(p, os.X_OK))]
    if missing:
        pytest.fail("headless browser test: %s not found. Install Debian's chromium and chromium-driver with "
                    "`tests/tools/ensure_chromium.sh` (or set CHROMIUM / CHROMEDRIVER)." % " and ".join(missing),
                    pytrace=False)
    if importlib.util.find_spec("selenium") is None:
        pytest.fail("headless browser test: the Python package selenium is missing; install the test "
                    "requirements (`make venv`)", pytrace=False)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver path below, Selenium Manager downloads nothing
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=%s" % tmp_path_factory.mktemp("chromium-profile"))
    options.add_argument("--window-size=%d,1000" % WIDTH)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(log)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver, path):
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    return driver


def _console_problems(driver):
    """Console errors and warnings, uncaught exceptions and failed loads since the last call."""
    return [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]


def _full_page_png(driver, path):
    """A screenshot of the whole page (not only the viewport), written to ``path``."""
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "fromSurface": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    data = base64.b64decode(shot["data"])
    path.write_bytes(data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _keep(png, name):
    """Copy a screenshot to reports/screenshots/ when that folder can be written (it is git-ignored)."""
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / name
        shutil.copyfile(str(png), str(target))
        return target
    except OSError:
        return None


def _rgb(css):
    inside = css[css.index("(") + 1:css.index(")")]
    return tuple(int(float(x)) for x in inside.split(",")[:3])


def test_matrix_page_in_chromium(browser, tmp_path):
    page = tmp_path / "vmo-rbac-report.html"
    page.write_text(html_format.render(sample_results(), title="VMO RBAC fleet report",
                                       generated_at="2026-11-27 10:00 UTC"), encoding="utf-8")
    _open(browser, page)
    assert _console_problems(browser) == []
    assert browser.title == "VMO RBAC fleet report: FAILED"
    # standalone: the page loaded nothing besides itself
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert browser.execute_script("return document.scripts.length") == 0

    # The fleet verdict and the three clusters
    verdict = browser.find_element("css selector", ".verdict")
    assert verdict.text == "FLEET FAILED" and verdict.is_displayed()
    sections = browser.find_elements("css selector", "section.card[data-cluster]")
    assert [(s.get_attribute("data-cluster"), s.get_attribute("data-status")) for s in sections] == \
        [("vmo-1", "failed"), ("vmo-2", "passed"), ("vmo-3", "error")]
    assert "connection refused" in sections[2].find_element("css selector", ".msg").text

    # The violation cells, as a person sees them: labelled, red, in the right row and column
    cells = browser.find_elements("css selector", "#cluster-1-vmo-1-matrix td.cell.violation")
    seen = {}
    for cell in cells:
        row = cell.find_element("xpath", "./ancestor::tr")
        seen[(row.get_attribute("data-subject"), row.get_attribute("data-scope"),
              cell.get_attribute("data-capability"))] = " ".join(cell.text.split())
        assert cell.is_displayed()
        r, g, b = _rgb(cell.value_of_css_property("background-color"))
        assert r > 180 and g < 80 and b < 80, "a violation must be red, got %s" % ((r, g, b),)
        assert "VIOLATION" in cell.get_attribute("title")
    assert seen == {
        ("Group auditors", "team-a", "vm.delete"): "\u2717 EXCESS allowed",
        ("User bob@example.com", "team-b", "vm.console"): "\u2717 MISSING 1/2 allowed",
        ("User bob@example.com", "default (outside scope)", "vm.view"): "\u2717 EXCESS 1/3 allowed",
    }
    ok = browser.find_element("css selector", "tr[data-subject='Group auditors'] td[data-capability='vm.view']")
    assert ok.text.split() == ["\u2713", "allowed"]
    r, g, b = _rgb(ok.value_of_css_property("background-color"))
    assert g > r and g > b, "an allowed-as-expected cell must be green, got %s" % ((r, g, b),)
    grey = browser.find_elements("css selector", "td.cell.unchecked")
    assert grey and all(c.text.split() == ["?", "unchecked"] for c in grey)
    # every capability has a column header, every row a row header
    heads = browser.find_elements("css selector", "#cluster-1-vmo-1-matrix thead th.cap")
    assert [h.text for h in heads] == list(sample_results()[0]["capabilities"])
    assert len(browser.find_elements("css selector", "#cluster-1-vmo-1-matrix tbody th[scope=row]")) == \
        len(sample_results()[0]["matrix"])
    # the page fits the window; only a wide matrix scrolls inside its own box
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")

    png = tmp_path / "vmo-rbac-report.png"
    w, h = _full_page_png(browser, png)
    assert w >= 1200 and h > 1000
    _keep(png, "vmo-rbac-report.png")

    # The CSS-only filter (no JavaScript): clean rows and passed clusters disappear
    browser.find_element("css selector", "label[for=only-violations]").click()
    assert not browser.find_element("css selector", "tr.row-clean").is_displayed()
    assert all(c.is_displayed() for c in browser.find_elements("css selector", "td.cell.violation"))
    assert not sections[1].is_displayed() and sections[0].is_displayed() and sections[2].is_displayed()
    _full_page_png(browser, tmp_path / "vmo-rbac-report-violations.png")
    _keep(tmp_path / "vmo-rbac-report-violations.png", "vmo-rbac-report-violations.png")
    assert _console_problems(browser) == []


def test_hostile_names_stay_text_in_chromium(browser, tmp_path):
    page = tmp_path / "hostile.html"
    page.write_text(html_format.render(hostile_results(), title='<script>alert("t")</script>'), encoding="utf-8")
    _open(browser, page)  # an injected alert() would make every later call fail
    assert _console_problems(browser) == []
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script("return document.images.length") == 0
    assert browser.find_element("css selector", "h1").text == '<script>alert("t")</script>'
    row = browser.find_element("css selector", "tr.has-violation")
    assert row.get_attribute("data-subject") == "Group " + model.clean(HOSTILE)
    assert HOSTILE in row.find_element("css selector", "th .who").text
    assert row.find_element("css selector", "td.cell.violation").text.split()[:2] == ["\u2717", "EXCESS"]
    _full_page_png(browser, tmp_path / "hostile.png")
    _keep(tmp_path / "hostile.png", "vmo-rbac-report-hostile-names.png")


def test_namespace_rules_notes_and_pending_in_chromium(browser, tmp_path):
    """What issue 9 added to a result, as a person sees it: the warning of a rule that matched nothing,
    the namespace rules, an optional console cell with its note, pending cells that are not failures."""
    page = tmp_path / "vmo-rbac-report-check-mode.html"
    page.write_text(html_format.render(newer_results(), title="VMO RBAC fleet report (--check)"), encoding="utf-8")
    _open(browser, page)
    assert _console_problems(browser) == []
    assert browser.execute_script("return document.scripts.length") == 0
    card = browser.find_element("css selector", "section.card[data-cluster='vmo-1']")
    assert card.get_attribute("data-status") == "passed"
    assert card.find_element("css selector", "h2 .badge.warn").text == "1 NOT PROVEN"

    # The warning of the rule that matched nothing: visible, amber, says "not proven"
    warning = card.find_element("css selector", ".warning")
    assert warning.is_displayed()
    assert warning.text.startswith("\u26a0 NOT PROVEN: bindings[2].namespace_regex: ^contract- matched no namespace")
    r, g, b = _rgb(warning.value_of_css_property("background-color"))
    assert r > 240 and 200 < g < 250 and b < 220, "a warning must be amber, got %s" % ((r, g, b),)

    # The namespace rules: open (one matched nothing), one row per rule set
    rules = card.find_element("css selector", "details.scopes")
    assert rules.get_attribute("open") is not None
    rows = rules.find_elements("css selector", "tbody tr[data-entry]")
    assert [(row.get_attribute("data-entry"), row.get_attribute("class")) for row in rows] == [
        ("bindings[1].namespace_regex", "matched"), ("bindings[2].namespace_regex", "nothing"),
        ("bindings[3].namespace_selector", "matched")]
    assert all(row.is_displayed() for row in rows)
    cells = [[td.text for td in row.find_elements("css selector", "td")] for row in rows]
    assert cells[0][1:] == ["^web-app- /^kube-/", "2 web-app-1, web-app-2", "kube-node-lease, kube-public, kube-system"]
    assert cells[1][2] == "none: not proven"
    # twelve namespaces: ten listed, the rest behind "and 2 more"
    more = rows[2].find_element("css selector", "details.more")
    rest = more.find_element("css selector", ".rest")
    assert "prod-10" in rows[2].text and more.text == "and 2 more" and not rest.is_displayed()
    more.find_element("css selector", "summary").click()
    assert rest.is_displayed() and rest.text == "prod-11, prod-12"

    # The optional console cell: ok (green, "denied"), its note linked below the matrix
    console = card.find_element("css selector", "tr[data-subject='User bob@example.com'][data-scope='team-a'] "
                                                "td[data-capability='vm.console']")
    assert console.get_attribute("data-state") == "ok" and console.get_attribute("data-expected") == "optional"
    # "(optional)" is for screen readers (Selenium reads it too), the "1" links to the note
    assert console.text.split() == ["\u2713", "denied", "(optional)", "1"] and "MISSING" not in console.text
    assert "optional, either answer is ok" in console.get_attribute("title")
    assert "Note: console access through the persona role alone is optional" in console.get_attribute("title")
    r, g, b = _rgb(console.value_of_css_property("background-color"))
    assert g >= r and g >= b, "an optional cell is as expected (green), got %s" % ((r, g, b),)
    console.find_element("css selector", "sup.note-ref a").click()
    assert browser.execute_script("return location.hash") == "#cluster-1-vmo-1-note-1"
    note = browser.find_element("css selector", "#cluster-1-vmo-1-note-1")
    assert note.is_displayed() and "set console_access: true" in note.text
    assert "User bob@example.com: vm.console in team-a" in note.text

    # Pending cells: amber, labelled pending, not violations; listed in their own section
    pending = card.find_elements("css selector", "td.cell.pending")
    assert len(pending) == 7 and not card.find_elements("css selector", "td.cell.violation")
    for cell in pending:
        assert cell.text.split() == ["\u25f7", "pending", "denied"] and cell.is_displayed()
        assert cell.get_attribute("title").startswith("pending (planned by the enforce step under --check)")
        r, g, b = _rgb(cell.value_of_css_property("background-color"))
        assert r > 240 and g > 200 and b < 220, "a pending cell must be amber, not red, got %s" % ((r, g, b),)
    heads = [h.text for h in card.find_elements("css selector", "h3")]
    assert "PENDING (13): PLANNED BY THE ENFORCE STEP UNDER --CHECK" in heads
    assert not any(h.startswith("FAILED CHECKS") or h.startswith("DRIFT") for h in heads)

    # The fleet: the newer counts as columns
    fleet = [th.text for th in browser.find_elements("css selector", "table.fleet thead th")]
    assert fleet == ["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked", "Not proven", "Pending", "Message"]
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    png = tmp_path / "vmo-rbac-report-check-mode.png"
    _full_page_png(browser, png)
    _keep(png, "vmo-rbac-report-check-mode.png")

    # Only violations: the passed cluster with pending items is hidden, the failed one stays
    browser.find_element("css selector", "label[for=only-violations]").click()
    assert not card.is_displayed()
    assert browser.find_element("css selector", "section.card[data-cluster='vmo-2']").is_displayed()
    assert _console_problems(browser) == []


def test_who_else_in_chromium(browser, tmp_path):
    """The exclusive audit (issue 12), as a person sees it: per capability and place, the undeclared holders
    in red with the binding to remove; "nobody undeclared" on the audited clean cluster; nothing on a cluster
    validated without the audit; the fleet's count as a column and a tile; kept by the only-violations filter."""
    page = tmp_path / "vmo-rbac-report-who-else.html"
    page.write_text(html_format.render(who_else_results(), title="VMO RBAC fleet report (exclusive audit)"),
                    encoding="utf-8")
    _open(browser, page)
    assert _console_problems(browser) == []
    assert browser.execute_script("return document.scripts.length") == 0
    cards = dict((c.get_attribute("data-cluster"), c)
                 for c in browser.find_elements("css selector", "section.card[data-cluster]"))
    assert [(n, c.get_attribute("data-status")) for n, c in cards.items()] == [
        ("audit-east", "failed"), ("audit-clean", "passed"), ("not-audited", "passed")]

    east = cards["audit-east"].find_element("css selector", "section.who-else")
    assert east.is_displayed() and east.get_attribute("data-undeclared") == "7"
    assert east.find_element("css selector", "h3").text.upper() == "WHO ELSE CAN: 7 UNDECLARED (6 CAPABILITY \u00d7 PLACE)"
    assert "27 capability \u00d7 place questions" in east.find_element("css selector", "p").text
    heads = [th.text.upper() for th in east.find_elements("css selector", "thead th")]
    assert heads == ["CAPABILITY", "WHERE", "UNDECLARED SUBJECT", "BINDING TO REMOVE", "FIX"]
    rows = east.find_elements("css selector", "tbody tr.holder")
    seen = [[td.text for td in row.find_elements("css selector", "td")] for row in rows]
    assert len(seen) == 7 and all(row.is_displayed() for row in rows)
    # the leaky layout: everyone may delete VMs in leaky, through one RoleBinding
    assert ["vm.delete", "namespace leaky", "Group system:authenticated (every authenticated user)",
            "RoleBinding leaky/oops (ClusterRole spectro-vm-admin)",
            "delete RoleBinding leaky/oops (ClusterRole spectro-vm-admin)"] in seen
    # the other hidden holders: a hand-made edit binding, a custom role, a widened aggregated role
    assert any(r[2] == "Group ci-helpers" and r[3] == "RoleBinding team1/hand-made-edit (ClusterRole edit)"
               for r in seen)
    assert any(r[1] == "every namespace" and r[3] == "ClusterRoleBinding ci-vm-deleter (ClusterRole vm-deleter)"
               for r in seen)
    assert any("sneaky-widener by aggregation" in r[4] for r in seen)
    subject = rows[0].find_element("css selector", "strong.absent")
    r, g, b = _rgb(subject.value_of_css_property("color"))
    assert r > 150 and g < 80 and b < 80, "an undeclared holder must be red, got %s" % ((r, g, b),)
    # the table fits its box (it scrolls inside it when narrow), the page fits the window
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")

    clean = cards["audit-clean"].find_element("css selector", "section.who-else")
    assert clean.get_attribute("data-undeclared") == "0"
    assert clean.find_element("css selector", "h3").text.upper() == "WHO ELSE CAN: NOBODY UNDECLARED"
    assert not clean.find_elements("css selector", "table")
    assert not cards["not-audited"].find_elements("css selector", "section.who-else")

    fleet = [th.text for th in browser.find_elements("css selector", "table.fleet thead th")]
    assert fleet == ["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked", "Who else", "Message"]
    counts = [[td.text for td in tr.find_elements("css selector", "td.num")]
              for tr in browser.find_elements("css selector", "table.fleet tbody tr")]
    assert [c[-1] for c in counts] == ["7", "0", "\u2013"]
    tiles = dict((t.find_element("css selector", ".l").text.lower(), t.find_element("css selector", ".n").text)
                 for t in browser.find_elements("css selector", ".tile"))
    assert tiles["undeclared holders (who else can)"] == "7"
    png = tmp_path / "vmo-rbac-report-who-else.png"
    _full_page_png(browser, png)
    _keep(png, "vmo-rbac-report-who-else.png")

    # Only violations: the failed cluster and its undeclared holders stay, the clean ones go
    browser.find_element("css selector", "label[for=only-violations]").click()
    assert east.is_displayed() and all(row.is_displayed() for row in rows)
    assert not cards["audit-clean"].is_displayed() and not cards["not-audited"].is_displayed()
    assert _console_problems(browser) == []
