"""Kubeconfig files read without the kubernetes package (plugins/module_utils/_k8s/kubeconfig.py) make the
same connection as the official client, or are handed to the client, or are refused by both.

The corpus (kubeconfig_corpus.yaml, documented there) lists shapes with the route the reader must
take; every `static` file case also runs as an inline mapping and with an explicit context; and
hypothesis draws random kubeconfigs from the same building blocks. For each, a vmo.rbac Cluster is
built twice, by the reader and by the client (tests/unit/plugins/module_utils/_k8s/kubeconfig_equivalence.py), and the
connections are compared by what the requests get: URL, pool class and arguments, the CA,
certificate and key by content, TLS settings, the Authorization and impersonation headers.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import kubeconfig as static_kubeconfig
from tests.unit.plugins.module_utils._k8s import kubeconfig_equivalence as equivalence

HERE = Path(__file__).resolve().parent
# The reader works only with a client series it is proven equal to (kubeconfig.PROVEN_CLIENT_SERIES):
# this file runs against the client of tests/constraints.txt (.venv), of the compatibility matrix's
# oldest and newest combinations (compat-unit, in every `make test`), and of every series between them
# (kubeconfig_series.py, `make kubeconfig-series`, which names the series it proves through
# VMO_TEST_PROVE_KUBERNETES_SERIES; the equivalence script, run in fresh interpreters, reads it too).
# With a series that is not proven installed, every kubeconfig must be handed to the client: the corpus
# then checks that hand-off instead (test_installed_client_is_a_proven_series fails first).
equivalence.prove_series()
INSTALLED = static_kubeconfig.client_version()
PROVEN = bool(INSTALLED) and INSTALLED.startswith(tuple(static_kubeconfig.PROVEN_CLIENT_SERIES))
RULES = static_kubeconfig.series_rules(INSTALLED)
HANDED_OFF = "kubernetes %s installed; the static reader is proven for" % INSTALLED
reader_only = pytest.mark.skipif(not PROVEN, reason="kubernetes %s is not a proven series: the reader is not "
                                 "used (test_corpus checks the hand-off)" % INSTALLED)
SERIES_KEYS = ("expect", "reason", "option", "message", "outcome")


def for_series(case, major):
    """The case as it stands with a client of series ``major``: its ``series`` entries up to that major
    applied in order (kubeconfig_corpus.yaml's header)."""
    out = {k: v for k, v in case.items() if k != "series"}
    for first, changes in sorted((case.get("series") or {}).items()):
        if major is not None and major >= first:
            out.update(changes)
    return out


RAW_CORPUS = yaml.safe_load((HERE / "kubeconfig_corpus.yaml").read_text())["cases"]
CORPUS = [for_series(c, RULES.major if RULES else None) for c in RAW_CORPUS]

CA = b"-----BEGIN CERTIFICATE-----\nY29ycHVzIGNh\n-----END CERTIFICATE-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nY29ycHVzIGNsaWVudA==\n-----END CERTIFICATE-----\n"
KEY_BODY = "Y29ycHVzLWtleS1zZWNyZXQtYm9keQ=="
KEY = ("-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----\n" % KEY_BODY).encode()
BINARY = b"\x00\xff\xfe\r\nnot utf-8 \x80\x81\r\n"
TOKEN = "corpus-token-5f1e0c9a7b3d"
TOKEN2 = "corpus-token2-0a9b8c7d6e5f"
PASSWORD = "corpus-pass-7d2c41"
EXEC_TOKEN = "corpus-exec-token-91aa03"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _jwt():
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    for pad in range(8):  # the client refuses a payload whose length needs 3 padding characters
        payload = part({"sub": "corpus", "p": "x" * pad})
        if len(payload) % 4 != 1 and not set("=+/") & set(payload):
            return "%s.%s.c2ln" % (part({"alg": "none"}), payload)
    raise AssertionError("no JWT")


VALUES = {"ca_b64": _b64(CA), "cert_b64": _b64(CERT), "key_b64": _b64(KEY), "binary_b64": _b64(BINARY),
          "token": TOKEN, "token2": TOKEN2, "password": PASSWORD, "exec_token": EXEC_TOKEN, "jwt": _jwt(),
          "python": sys.executable}
SECRETS = [TOKEN, TOKEN2, PASSWORD, EXEC_TOKEN, _b64(KEY), KEY_BODY]
EXEC_PLUGIN = ("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
               "'kind': 'ExecCredential', 'status': {'token': %r}}))\n" % EXEC_TOKEN)
CLEAN_ENV = ("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
             "NO_PROXY", "no_proxy", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


def _subst(obj, values):
    if isinstance(obj, str):
        for k, v in values.items():
            obj = obj.replace("${%s}" % k, v)
        return obj
    if isinstance(obj, dict):
        return {_subst(k, values): _subst(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_subst(v, values) for v in obj]
    return obj


def materialize(case, root: Path):
    """The case's files in ``root``; returns (params, env, cwd)."""
    values = dict(VALUES, dir=str(root))
    texts = {}
    for rel, content in (case.get("files") or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        special = {"@ca": CA, "@cert": CERT, "@key": KEY}
        if isinstance(content, str) and content in special:
            path.write_bytes(special[content] + ("# %s\n" % rel).encode())  # unique per file
        elif content == "@token":
            path.write_text(TOKEN)
        elif content == "@token-newline":
            path.write_text(TOKEN + "\n")
        elif content == "@binary":
            path.write_bytes(BINARY)
        elif content == "@exec":
            path.write_text(EXEC_PLUGIN)
        elif content == "@dir":
            path.mkdir()
        elif isinstance(content, str):
            path.write_text(_subst(content, values))
        else:
            path.write_text(yaml.safe_dump(_subst(content, values), allow_unicode=True))
        texts[rel] = path
    params = _subst(copy.deepcopy(case.get("params") or {}), values)
    if isinstance(params.get("kubeconfig"), str) and params["kubeconfig"].startswith("@inline:"):
        params["kubeconfig"] = yaml.safe_load(texts[params["kubeconfig"][len("@inline:"):]].read_text())
    env = {"HOME": str(root)}
    env.update(_subst(case.get("env") or {}, values))
    return params, env, Path(case.get("cwd") and _subst(case["cwd"], values) or root)


def run_both(params, env, cwd, monkeypatch):
    """{'static': outcome, 'client': outcome} of the same kubeconfig, by the reader and by the client."""
    if params.get("kubeconfig") is None:
        # The client reads KUBECONFIG when it is imported: a fresh interpreter with this environment.
        return {route: _subprocess(params, env, cwd, route) for route in ("static", "client")}
    with monkeypatch.context() as m:
        for k in CLEAN_ENV:
            m.delenv(k, raising=False)
        for k, v in env.items():
            m.setenv(k, v)
        m.chdir(cwd)
        return {route: equivalence.outcome(params, route) for route in ("static", "client")}


def _subprocess(params, env, cwd, route):
    full = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV and not k.startswith("K8S_AUTH_")}
    full.update(env)
    proc = subprocess.run([sys.executable, str(HERE / "kubeconfig_equivalence.py"),
                           json.dumps({"params": params, "route": route, "cwd": str(cwd)})],
                          capture_output=True, text=True, env=full, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    if route == "static" and out["decision"]["route"] == "static":
        assert out["kubernetes_loaded"] is False, "the static route imported the kubernetes package"
    return out


def check_equivalent(both, expect_outcome=None):
    """The two connections are equal, or both attempts failed; the reader's errors carry no secret."""
    static, client = both["static"], both["client"]
    decision = static["decision"]
    assert decision["route"] in ("static", "client", "error"), decision  # never a crash in the reader
    if "connection" in static and "connection" in client:
        assert static["connection"] == client["connection"]
    else:
        assert "error" in static and "error" in client, (
            "one side failed, the other did not:\n static: %s\n client: %s" % (static, client))
    if decision["route"] == "error":
        assert "error" in client, "the reader refused what the client accepts: %s" % decision
    if expect_outcome:
        assert ("connection" if "connection" in static else "error") == expect_outcome, static
    for text in (json.dumps(decision), static.get("error") or "", client.get("error") or ""):
        for secret in SECRETS:
            assert secret not in text, "a credential in the reader's or the client's message: %s" % text
    return decision


# ---------------------------------------------------------------------------------------- corpus


def test_corpus_is_well_formed():
    ids = [c["id"] for c in RAW_CORPUS]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert len(RAW_CORPUS) >= 20
    majors = sorted(int(s.rstrip(".")) for s in static_kubeconfig.PROVEN_CLIENT_SERIES)
    for raw in RAW_CORPUS:
        for first, changes in (raw.get("series") or {}).items():
            assert isinstance(first, int) and majors[0] < first <= majors[-1], (raw["id"], first)
            assert set(changes) <= set(SERIES_KEYS), (raw["id"], changes)
        for major in majors:  # the case as every proven series sees it
            c = for_series(raw, major)
            assert c["expect"] in ("static", "client", "error"), (c["id"], major)
            assert c["expect"] != "error" or ("option" in c and "message" in c), (c["id"], major)
            assert c["expect"] != "client" or "reason" in c, (c["id"], major)
    # Shapes the issue asks for, by the keys they use.
    text = json.dumps(CORPUS)
    for needle in ("proxy-url", "tls-server-name", "insecure-skip-tls-verify", "certificate-authority-data",
                   '"certificate-authority"', "tokenFile", "client-certificate-data", '"client-certificate"',
                   '"exec"', "auth-provider", "namespace", '"context"', "as-groups", "username", "KUBECONFIG"):
        assert needle in text, needle


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus(case, tmp_path, monkeypatch):
    params, env, cwd = materialize(case, tmp_path)
    both = run_both(params, env, cwd, monkeypatch)
    default = {"static": "connection", "client": "connection", "error": "error"}[case["expect"]]
    decision = check_equivalent(both, case.get("outcome", default))
    if not PROVEN:  # handed off: for the installed version, or for what the case hands off anyway
        assert decision["route"] == "client", decision
        assert HANDED_OFF in decision["reason"] or (
            case["expect"] == "client" and _subst(case["reason"], dict(VALUES, dir=str(tmp_path))) in decision["reason"]), decision
        return
    assert decision["route"] == case["expect"], decision
    values = dict(VALUES, dir=str(tmp_path))
    if case["expect"] == "client":
        assert _subst(case["reason"], values) in decision["reason"], decision
    if case["expect"] == "error":
        assert decision["message"].startswith(case["option"] + ": "), decision
        assert _subst(case["message"], values) in decision["message"], decision
        assert "cannot load" not in both["static"]["error"] and decision["message"] in both["static"]["error"]


def _variations():
    """Every `static` case with one kubeconfig file given by path: also as an inline mapping
    (relative paths then resolve against the working directory: the file's directory), and with
    its current context given explicitly."""
    out = []
    for case in CORPUS:
        kc = (case.get("params") or {}).get("kubeconfig")
        if case["expect"] != "static" or not isinstance(kc, str) or not kc.startswith("${dir}/") or case.get("env"):
            continue
        rel = kc[len("${dir}/"):]
        doc = case["files"][rel]
        if isinstance(doc, str):
            doc = yaml.safe_load(doc)
        inline = copy.deepcopy(case)
        inline["id"] += "/inline"
        inline["params"] = dict(case["params"], kubeconfig="@inline:" + rel)
        inline["cwd"] = "${dir}/" + (os.path.dirname(rel) or ".")
        if any(len({e.get("name") for e in doc.get(s) or []}) < len(doc.get(s) or [])
               for s in ("contexts", "clusters", "users")):
            inline["expect"], inline["outcome"] = "client", None  # duplicates: refused by the client
        out.append(inline)
        if "context" not in case["params"] and isinstance(doc, dict) and doc.get("current-context"):
            explicit = copy.deepcopy(case)
            explicit["id"] += "/explicit-context"
            explicit["params"] = dict(case["params"], context=doc["current-context"])
            out.append(explicit)
    return out


VARIATIONS = _variations()


@pytest.mark.parametrize("case", VARIATIONS, ids=[c["id"] for c in VARIATIONS])
def test_corpus_variations(case, tmp_path, monkeypatch):
    params, env, cwd = materialize(case, tmp_path)
    both = run_both(params, env, cwd, monkeypatch)
    decision = check_equivalent(both, case.get("outcome", "connection"))
    assert decision["route"] == (case["expect"] if PROVEN else "client"), decision


@reader_only
def test_static_cases_never_import_kubernetes(tmp_path):
    """Every `static` case of the corpus and its variations, built in one fresh interpreter: the
    kubernetes package is never imported."""
    jobs = []
    for i, case in enumerate(c for c in CORPUS + VARIATIONS if c["expect"] == "static"):
        root = tmp_path / str(i)
        root.mkdir()
        params, env, cwd = materialize(case, root)
        jobs.append({"id": case["id"], "params": params, "env": env, "cwd": str(cwd)})
    script = r"""
import json, os, sys
sys.path.insert(0, %r)
from tests.unit.plugins.module_utils._k8s import kubeconfig_equivalence as eq
out = []
for job in json.load(open(sys.argv[1])):
    os.environ.update(job["env"])
    for k in [k for k in os.environ if k not in job["env"] and k in %r]:
        del os.environ[k]
    os.chdir(job["cwd"])
    res = eq.outcome(job["params"], "static")
    out.append([job["id"], res["decision"]["route"], "kubernetes" in sys.modules])
print(json.dumps(out))
""" % (str(HERE.parents[4]), CLEAN_ENV)
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "jobs.json")], capture_output=True,
                          text=True, check=False, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == len(jobs) >= 40
    assert [r for r in results if r[1] != "static" or r[2]] == []


# ------------------------------------------------------------------------------ generated shapes

def _mostly(common, *rare):
    """Draw ``common`` three times out of four (so that most shapes get a connection), else a rare value."""
    return st.one_of(st.just(common), st.just(common), st.just(common), st.sampled_from(rare))


_CLUSTER = st.fixed_dictionaries({
    "server": _mostly("https://127.0.0.1:6443", "https://127.0.0.1:6443/", "http://127.0.0.1:8080",
                      "HTTPS://127.0.0.1:6443", ""),
}, optional={
    "certificate-authority-data": _mostly(VALUES["ca_b64"], "", "!!not base64", VALUES["binary_b64"]),
    "certificate-authority": _mostly("ca.crt", "${dir}/ca.crt", "missing.crt", "sub/../ca.crt", ""),
    "insecure-skip-tls-verify": _mostly(False, True, "false", None),
    "tls-server-name": st.sampled_from(["kubernetes", ""]),
    "proxy-url": st.just("http://127.0.0.1:3128"),
    "extensions": st.just([{"name": "x", "extension": {}}]),
    "bogus-key": st.just(1),
})
_USER = st.fixed_dictionaries({}, optional={
    "token": _mostly(TOKEN, "", 12345, TOKEN + "\n", None),
    "tokenFile": _mostly("token", "${dir}/token", "missing-token", "token-newline"),
    "client-certificate": _mostly("tls.crt", "missing.crt"),
    "client-key": _mostly("tls.key", "${dir}/tls.key"),
    "client-certificate-data": _mostly(VALUES["cert_b64"], ""),
    "client-key-data": _mostly(VALUES["key_b64"], "x"),
    "username": _mostly("admin", "\u00e4dmin"),
    "password": _mostly(PASSWORD, "\u20ac" + PASSWORD),
    "as": st.just("alice"),
    "as-groups": st.just(["ops"]),
    "exec": st.just({"apiVersion": "client.authentication.k8s.io/v1", "command": "/nonexistent/plugin"}),
    "auth-provider": st.just({"name": "gcp", "config": {"access-token": TOKEN2}}),
})
_CONTEXT = st.fixed_dictionaries({"cluster": _mostly("prod", "missing")}, optional={
    "user": _mostly("admin", "missing", ""), "namespace": st.just("team-a")})


@st.composite
def kubeconfigs(draw):
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "prod", "cluster": draw(_CLUSTER)}],
           "users": [{"name": "admin", "user": draw(_USER)}],
           "contexts": [{"name": "prod", "context": draw(_CONTEXT)}]}
    current = draw(_mostly("prod", "missing", None, "(absent)"))
    if current != "(absent)":
        doc["current-context"] = current
    if draw(st.booleans()):  # a second entry of each kind, maybe a duplicate name
        name = draw(st.sampled_from(["prod", "admin", "other"]))
        doc["clusters"].append({"name": name, "cluster": {"server": "https://10.9.9.9"}})
        doc["users"].append({"name": name, "user": {"token": TOKEN2}})
        doc["contexts"].append({"name": name, "context": {"cluster": "prod", "user": name}})
    context = draw(_mostly(None, "prod", "other", "missing"))
    inline = draw(st.booleans())
    return doc, context, inline


@settings(max_examples=int(os.environ.get("VMO_KUBECONFIG_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kubeconfigs())
def test_generated_kubeconfigs(monkeypatch, drawn):
    doc, context, inline = drawn
    with tempfile.TemporaryDirectory(prefix="vmo-kc-") as tmp:
        case = {"files": {"ca.crt": "@ca", "sub/.keep": "", "tls.crt": "@cert", "tls.key": "@key",
                          "token": "@token", "token-newline": "@token-newline", "config": doc},
                "params": {"kubeconfig": "@inline:config" if inline else "${dir}/config"}}
        if context is not None:
            case["params"]["context"] = context
        params, env, cwd = materialize(case, Path(tmp))
        both = run_both(params, env, cwd, monkeypatch)
        decision = check_equivalent(both)
        event("%s route, %s" % (decision["route"], "connection" if "connection" in both["static"] else "error"))


# ----------------------------------------------------------------------------------- temp files


def _data_fields_child(case_id, tmp_path, code_before="", code_after="", exit_code=""):
    """Run the reader on a corpus case with -data fields in a fresh interpreter whose TMPDIR is an empty
    directory of its own; returns (its JSON report, the TMPDIR)."""
    case = next(c for c in CORPUS if c["id"] == case_id)
    params, env, cwd = materialize(case, tmp_path)
    tmpdir = tmp_path / "TMPDIR"
    tmpdir.mkdir()
    full = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    full.update(env)
    full["TMPDIR"] = str(tmpdir)
    script = "\n".join([
        "import json, os, stat, sys",
        "sys.path.insert(0, %r)" % str(HERE.parents[4]),
        "from tests.unit.plugins.module_utils._k8s import kubeconfig_equivalence as eq",
        "from ansible_collections.vmo.rbac.plugins.module_utils._k8s import kubeconfig",
        code_before,
        "res = eq.outcome(json.loads(sys.argv[1]), 'static')",
        "files = sorted(kubeconfig._TEMP_FILES.values())",
        "report = {'files': files, 'modes': [stat.S_IMODE(os.stat(f).st_mode) for f in files],",
        "          'targets': [os.path.realpath(f) for f in files], 'tmpdir': sorted(os.listdir(os.environ['TMPDIR'])),",
        "          'route': res['decision']['route'], 'kubernetes': 'kubernetes' in sys.modules}",
        code_after,
        "print(json.dumps(report), flush=True)",
        exit_code,
    ])
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(params)], capture_output=True, text=True,
                          env=full, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), tmpdir


@reader_only
@pytest.mark.skipif(not static_kubeconfig.USE_MEMORY_FILES, reason="no memfd_create on this platform (Linux has it)")
def test_data_fields_live_in_memory_files_only(tmp_path):
    """-data fields (a kubeconfig mapping, one downloaded from Palette) are handed to urllib3 as
    memory-only files: readable by this user only, never on a filesystem, gone with the process."""
    out, tmpdir = _data_fields_child("client-cert-data", tmp_path)
    assert out["route"] == "static" and out["kubernetes"] is False
    assert len(out["files"]) == 3  # CA, certificate, key
    assert all(f.startswith("/proc/self/fd/") for f in out["files"])
    assert all(t.startswith("/memfd:vmo-rbac-kubeconfig") for t in out["targets"]), out["targets"]
    assert out["modes"] == [stat.S_IRUSR | stat.S_IWUSR] * 3
    assert out["tmpdir"] == [] and list(tmpdir.iterdir()) == []


@reader_only
def test_without_memory_files_data_fields_are_private_temp_files_removed_at_exit(tmp_path):
    """Where there are no memory files: temporary files readable by this user only, removed at exit."""
    out, tmpdir = _data_fields_child("client-cert-data", tmp_path, code_before="kubeconfig.USE_MEMORY_FILES = False")
    assert out["route"] == "static" and out["kubernetes"] is False
    assert len(out["files"]) == 3 and all(f.startswith(str(tmpdir)) for f in out["files"])
    assert out["modes"] == [stat.S_IRUSR | stat.S_IWUSR] * 3
    assert list(tmpdir.iterdir()) == []


CLIENT_TEMP_FILES = """
import kubernetes.config.kube_config as kc
kc._create_temp_file_with_content(b"the client's copy of a CA")
report["client_files"] = sorted(kc._temp_files.values())
report["tmpdir_before"] = sorted(os.listdir(os.environ["TMPDIR"]))
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import remove_temp_files
remove_temp_files()
report["tmpdir_after"] = sorted(os.listdir(os.environ["TMPDIR"]))
"""


@reader_only
@pytest.mark.parametrize("memory", [True, False])
def test_a_process_that_ends_with_os_exit_leaves_no_file_after_remove_temp_files(tmp_path, memory):
    """Ansible's worker processes end with os._exit, which skips atexit: the worker calls
    cluster.remove_temp_files when a module's run ends (plugin_utils/in_worker.py). It removes the
    reader's files and the kubernetes client's (exec plugins, auth providers: the client writes the -data
    fields to temporary files of its own)."""
    out, tmpdir = _data_fields_child("client-cert-data", tmp_path,
                                     code_before="" if memory else "kubeconfig.USE_MEMORY_FILES = False",
                                     code_after=CLIENT_TEMP_FILES, exit_code="os._exit(0)")
    assert len(out["client_files"]) == 1 and len(out["tmpdir_before"]) == (1 if memory else 4)
    assert out["tmpdir_after"] == [] and list(tmpdir.iterdir()) == []


# --------------------------------------------------------------------------- the version guard


def test_pinned_client_is_a_proven_series():
    """Moving tests/constraints.txt to another kubernetes series must come with this proof run and
    PROVEN_CLIENT_SERIES extended; until then every kubeconfig would silently take the slow path."""
    import kubernetes  # pylint: disable=import-outside-toplevel

    assert static_kubeconfig.client_version() == kubernetes.__version__
    (pin,) = [ln.split("==", 1)[1].strip() for ln in (HERE.parents[4] / "tests" / "constraints.txt").read_text().splitlines()
              if ln.lower().startswith("kubernetes==")]
    assert pin.startswith(static_kubeconfig.PROVEN_CLIENT_SERIES), pin


def test_installed_client_is_a_proven_series():
    """Wherever the unit tests run (.venv, the compatibility matrix's oldest and newest), the installed
    client is a proven series, so that test_corpus compares the reader with it rather than checking that
    everything is handed off: re-pinning a combination to a series not proven fails here."""
    import kubernetes  # pylint: disable=import-outside-toplevel

    assert INSTALLED == kubernetes.__version__
    assert PROVEN, "kubernetes %s: run `make kubeconfig-series` for it, then extend PROVEN_CLIENT_SERIES" % INSTALLED


def test_proven_series_span_what_requirements_allow():
    """PROVEN_CLIENT_SERIES covers every major from requirements.txt's lower bound to the newest the
    compatibility matrix pins, with no gap."""
    root = HERE.parents[4]
    low = int(re.search(r"^kubernetes>=(\d+)", (root / "requirements.txt").read_text(), re.M).group(1))
    high = int(re.search(r"^kubernetes==(\d+)", (root / "tests" / "compat" / "newest.txt").read_text(), re.M).group(1))
    assert set(range(low, high + 1)) <= {int(s.rstrip(".")) for s in static_kubeconfig.PROVEN_CLIENT_SERIES}


@pytest.mark.parametrize("version", ["23.6.0", "38.0.0", "1.0", "", None])
def test_other_client_series_hands_everything_to_the_client(tmp_path, monkeypatch, version):
    """Older than requirements allow, newer than proven, or a version that cannot be read: the client loads it."""
    case = next(c for c in CORPUS if c["id"] == "token-ca-data")
    params, _env, _cwd = materialize(case, tmp_path)
    monkeypatch.setattr(static_kubeconfig, "_CLIENT_VERSION", [version])
    cfg, reason = static_kubeconfig.read(params, environ={})
    assert cfg is None and "kubernetes %s installed" % (version or "(version unknown)") in reason, reason
    assert reason.endswith("the static reader is proven for %s" % static_kubeconfig._proven_text()), reason


def test_series_sweep_leaves_to_pip_the_pins_a_client_excludes():
    """The sweep's virtualenvs take tests/constraints.txt's pins, but for kubernetes itself and a pin the
    client's own requirements exclude (kubernetes 28: urllib3 < 2; 34: urllib3 < 2.4), which pip then
    chooses within the client's range; requirements of extras and other Pythons do not count."""
    from tests.unit.plugins.module_utils._k8s import kubeconfig_series  # pylint: disable=import-outside-toplevel

    text, dropped = kubeconfig_series.constraints("28.1.0", ["urllib3 <2.0,>=1.24.2", "PyYAML>=5.4.1", "six >=1.9.0",
                                                             'adal>=1.0.2; extra == "adal"',
                                                             'ipaddress >=1.0.17 ; python_version=="2.7"'])
    lines = text.splitlines()
    assert [d[0].split("==")[0] for d in dropped] == ["urllib3"]
    assert "kubernetes==28.1.0" in lines and not [ln for ln in lines if ln.startswith(("urllib3==", "kubernetes==3"))]
    assert any(ln.startswith("PyYAML==") for ln in lines) and any(ln.startswith("six==") for ln in lines)
    assert kubeconfig_series.constraints("36.0.3", ["urllib3!=2.6.0,>=1.24.2"])[1] == []


@pytest.mark.parametrize("version, current, tls, certifi, proxy_url", [
    ("24.2.0", "first", False, "always", False), ("27.2.0", "first", False, "always", False),
    ("28.1.0", "first", True, "always", False), ("29.0.0", "first", True, "always", False),
    ("30.1.0", "last", True, "always", False), ("35.0.0", "last", True, "always", False),
    ("36.0.3", "last", True, False, False), ("37.0.3", "last", True, False, True),
])
def test_series_rules_at_their_boundaries(version, current, tls, certifi, proxy_url):
    """The first and last series of each rule (read from each release's kube_config.py and rest.py; the
    differential against each series proves them, this names them)."""
    rules = static_kubeconfig.series_rules(version)
    assert (rules.current_context, rules.tls_server_name, rules.certifi, rules.proxy_url) == (current, tls, certifi, proxy_url)


@pytest.mark.parametrize("name", ["ALL_PROXY", "all_proxy", "Https_Proxy", "HTTP_proxy", "HTTPS_PROXY"])
@pytest.mark.parametrize("version", ["24.2.0", "36.0.3", "37.0.3"])
def test_a_proxy_in_the_environment_hands_off_whatever_its_name_and_the_series(tmp_path, monkeypatch, version, name):
    """kubernetes 37 reads every *_proxy variable whatever its case, ALL_PROXY for any scheme (urllib's
    getproxies): the reader read such a kubeconfig and connected directly where the client of 37 goes through the
    proxy. Any of them hands the kubeconfig to the client, whatever the series (an empty one does not)."""
    case = next(c for c in CORPUS if c["id"] == "token-ca-data")
    params, _env, _cwd = materialize(case, tmp_path)
    monkeypatch.setattr(static_kubeconfig, "_CLIENT_VERSION", [version])
    cfg, reason = static_kubeconfig.read(params, environ={name: "http://127.0.0.1:3128"})
    assert cfg is None and "a proxy" in reason, reason
    cfg, reason = static_kubeconfig.read(params, environ={name: ""})
    assert cfg is not None and reason is None
