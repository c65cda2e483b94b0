"""HTTP/1.1 pipelining of SubjectAccessReviews (module_utils/_k8s/pipeline.py) against a local HTTP/1.1
server (Python's http.server on loopback) that answers, refuses, closes or cuts as told by each
request's body; and Cluster.subject_access_reviews sending what the pipeline left the ordinary
way. The real API server's side is in tests/integration/test_validate.py."""

import contextlib
import http.client
import json
import re
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster as cluster_mod
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import pipeline


class _Handler(BaseHTTPRequestHandler):
    """Answers each review as the API server does (echoing its spec, ``allowed`` when the user starts
    with "yes"), or misbehaves as the user's name says: ``busy``/``close``/``junk``/``cut`` the first
    ``failures[user]`` times; ``early<k>-`` sends k interim 103 Early Hints responses first (always),
    ``hold-`` answers only after the next request's answer (reordered), ``other-`` answers another
    question, ``nostatus-`` answers without a decision, ``trunc-`` sends half its body and closes,
    ``switch-`` answers 101 Switching Protocols (each the first ``failures[user]`` times, or always when
    the name ends in ``-always``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, payload, close=False, raw=None):
        data = raw if raw is not None else json.dumps(payload).encode()
        out = ["HTTP/1.1 %d %s" % (status, self.responses.get(status, ("",))[0]),
               "Content-Type: application/json", "Content-Length: %d" % len(data)]
        if close:
            out.append("Connection: close")
        return ("\r\n".join(out) + "\r\n\r\n").encode() + data

    def do_POST(self):  # noqa: N802 - http.server's naming
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        spec = json.loads(body)["spec"]
        what = spec.get("user", "")
        with server.lock:
            server.seen.append((self.connection.fileno(), what, self.headers.get("X-Test", "")))
            times = server.failures.get(what, 0)
            if times:
                server.failures[what] = times - 1
        if what.endswith("-always"):
            times = 1
        if times and what.startswith("cut"):  # no answer at all: the connection is reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        status, close = 201, False
        payload = {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": spec,
                   "status": {"allowed": "yes" in what.split("-")}}
        if times and what.startswith("busy"):
            status, payload = 503, {"kind": "Status", "code": 503}
        if times and what.startswith("close"):
            close = True
        if times and what.startswith("other"):
            payload["spec"] = dict(spec, user=what + "-someone-else")
            payload["status"] = {"allowed": True}
        if times and what.startswith("nostatus"):
            del payload["status"]
        raw = b"{not json" if times and what.startswith("junk") else None
        out = b""
        m = re.match(r"early(\d+)-", what)
        if m:
            out += b"".join(b"HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n"
                            for _ in range(int(m.group(1))))
        if times and what.startswith("switch"):
            out += b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            self.close_connection = True
        answer = self._answer(status, payload, close, raw)
        if times and what.startswith("trunc"):
            answer = answer[:len(answer) - 20]
            self.close_connection = True
        held = getattr(self, "held", b"")
        self.held = b""
        if times and what.startswith("hold") and not held:
            self.held = out + answer  # answered after the next request's answer
            return
        self.wfile.write(out + answer + held)
        self.wfile.flush()
        if close:
            self.close_connection = True


@contextlib.contextmanager
def serving(handler):
    """A local HTTP server answering with ``handler`` (a _Handler), in a thread, for the block."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.seen, srv.failures = [], {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def server():
    with serving(_Handler) as srv:
        yield srv


def connect_to(srv):
    return lambda: http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)


def requests_for(users, host="127.0.0.1"):
    out = []
    for u in users:
        body = json.dumps({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                           "spec": {"user": u}}).encode()
        out.append(pipeline.request_bytes("POST", cluster_mod.REVIEWS, host, [("Content-Type", "application/json")],
                                          body))
    return out


def test_every_request_answered_in_order_on_one_connection(server):
    users = ["yes-%d" % i if i % 3 else "no-%d" % i for i in range(50)]
    sent = []
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=8, sent=sent.append)
    assert rest == [] and sum(sent) == 50
    assert [answers[i]["status"]["allowed"] for i in range(50)] == [u.startswith("yes") for u in users]
    assert [w for _c, w, _x in server.seen] == users  # in order, each once
    assert len(set(c for c, _w, _x in server.seen)) == 1  # one connection
    assert max(sent) <= 8 and len(sent) > 50 // 8  # written a window (or half of one) at a time


@pytest.mark.parametrize("window", [1, 2, 100])
def test_any_window_gives_the_same_answers(server, window):
    users = ["yes-%d" % i for i in range(9)]
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=window)
    assert rest == [] and sorted(answers) == list(range(9))


def test_an_error_status_leaves_that_request_and_the_connection_goes_on(server):
    server.failures["busy-3"] = 1
    users = ["yes-0", "yes-1", "yes-2", "busy-3", "yes-4", "yes-5"]
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=4)
    assert rest == [3] and sorted(answers) == [0, 1, 2, 4, 5]
    assert len(set(c for c, _w, _x in server.seen)) == 1


def test_an_answer_that_is_not_json_is_left_for_the_ordinary_path(server):
    server.failures["junk-1"] = 1
    answers, rest = pipeline.run(connect_to(server), requests_for(["yes-0", "junk-1", "yes-2"]), 5)
    assert rest == [1] and sorted(answers) == [0, 2]


def test_the_server_closing_the_connection_leaves_the_rest(server):
    server.failures["close-2"] = 1
    users = ["yes-%d" % i for i in range(2)] + ["close-2"] + ["yes-%d" % i for i in range(3, 10)]
    sent = []
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=6, sent=sent.append)
    assert sorted(answers) == [0, 1, 2]  # the closing answer itself was a good one
    assert rest == list(range(3, 10))
    assert sum(sent) >= 3  # written before the close was seen; those unread are in rest


def test_a_connection_cut_without_an_answer_leaves_it_and_the_rest(server):
    server.failures["cut-4"] = 1
    users = ["yes-%d" % i for i in range(4)] + ["cut-4"] + ["yes-%d" % i for i in range(5, 12)]
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=4)
    assert sorted(answers) == [0, 1, 2, 3]
    assert rest == list(range(4, 12))


def test_no_server_leaves_everything_and_raises_nothing():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    answers, rest = pipeline.run(lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=2),
                                 requests_for(["yes-0", "yes-1"]), 2)
    assert answers == {} and rest == [0, 1]


def test_a_slow_answer_times_out_and_leaves_the_rest(server):
    ready = threading.Event()

    def never_answers():
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        never_answers.port = listener.getsockname()[1]
        ready.set()
        conn, _ = listener.accept()
        conn.recv(65536)
        threading.Event().wait(3)
        conn.close()
        listener.close()

    t = threading.Thread(target=never_answers, daemon=True)
    t.start()
    ready.wait(5)
    answers, rest = pipeline.run(lambda: http.client.HTTPConnection("127.0.0.1", never_answers.port, timeout=5),
                                 requests_for(["yes-0", "yes-1", "yes-2"]), 0.5)
    assert answers == {} and rest == [0, 1, 2]


@pytest.mark.parametrize("name, value", [("X-Test", "a\r\nInjected: 1"), ("X-Test", "a\nb"), ("X\r\nY", "v"),
                                         ("X-Test", "caf\u00e9 \u2603")])
def test_a_header_that_is_not_one_line_of_latin_1_is_refused(name, value):
    assert pipeline.request_bytes("POST", "/x", "h", [(name, value)], b"{}") is None


def test_request_bytes_are_one_http_1_1_request():
    raw = pipeline.request_bytes("POST", "/p/apis/x", "127.0.0.1:6443",
                                 [("Accept", "application/json"), ("Impersonate-Group", "a"),
                                  ("Impersonate-Group", "b")], b'{"k":1}')
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /p/apis/x HTTP/1.1" and "Host: 127.0.0.1:6443" in lines
    assert lines.count("Impersonate-Group: a") == 1 and "Impersonate-Group: b" in lines
    assert "Content-Length: 7" in lines and body == b'{"k":1}'


# ------------------------------------------------- answers attached to their own questions


def accept_for(users):
    """pipeline.run's ``accept``: the answer echoes the question asked (cluster.review_answers)."""
    return lambda i, answer: cluster_mod.review_answers({"user": users[i]}, answer)


def right(users, answers):
    """Every answer taken is the right one for its question (users saying yes are allowed)."""
    return all(a["status"]["allowed"] == ("yes" in users[i].split("-")) and a["spec"]["user"] == users[i]
               for i, a in answers.items())


def test_an_interim_103_is_skipped_not_read_as_an_answer(server):
    """Issue 19's reproduction: one 103 Early Hints before the fifth answer of 40 shifted every later
    answer by one (24 of 40 wrong, no error). Now every answer is its own question's."""
    users = ["%s-%d" % ("yes" if i % 2 else "no", i) for i in range(40)]
    users[4] = "early1-yes-4"
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=8)
    assert rest == [] and sorted(answers) == list(range(40))
    assert [answers[i]["status"]["allowed"] for i in range(40)] == ["yes" in u.split("-") for u in users]
    assert [answers[i]["spec"]["user"] for i in range(40)] == users


def test_many_interim_responses_are_skipped_and_a_flood_ends_the_connection(server):
    users = ["early3-yes-0", "early1-no-1", "early8-yes-2", "yes-3", "early9-yes-4", "no-5"]
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=4, accept=accept_for(users))
    assert sorted(answers) == [0, 1, 2, 3] and rest == [4, 5] and right(users, answers)


def test_101_switching_protocols_ends_the_connection(server):
    server.failures["switch-yes-2"] = 1
    users = ["yes-0", "no-1", "switch-yes-2", "yes-3"]
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=4, accept=accept_for(users))
    assert sorted(answers) == [0, 1] and rest == [2, 3] and right(users, answers)


@pytest.mark.parametrize("bad", ["hold-no-3", "other-no-3", "nostatus-no-3", "trunc-no-3"])
def test_an_answer_that_is_not_its_questions_own_is_never_taken(server, bad):
    """A reordered answer (the fourth question's answer comes after the fifth's), an answer to another
    question, an answer without a decision (it must not read as "denied") and a truncated one: the
    request and every later one on that connection go the ordinary way; nothing wrong is taken."""
    server.failures[bad] = 1
    users = ["yes-0", "no-1", "yes-2", bad, "yes-4", "no-5", "yes-6"]
    answers, rest = pipeline.run(connect_to(server), requests_for(users), 5, window=8, accept=accept_for(users))
    assert sorted(answers) == [0, 1, 2] and rest == [3, 4, 5, 6] and right(users, answers)
    # without the check, the reordered and the foreign answers would have been taken for the wrong question
    if bad.startswith(("hold", "other")):
        server.failures[bad] = 1
        unchecked, _rest = pipeline.run(connect_to(server), requests_for(users), 5, window=8)
        assert not right(users, unchecked)


def test_review_answers_is_the_question_asked():
    spec = {"user": "bob", "groups": ["system:authenticated", "ops"],
            "resourceAttributes": {"verb": "delete", "group": "kubevirt.io", "resource": "virtualmachines",
                                   "namespace": "team-a", "name": "vm-1"}}
    echo = {"spec": {"user": "bob", "groups": ["ops", "system:authenticated"],
                     "resourceAttributes": dict(spec["resourceAttributes"], subresource="")},
            "status": {"allowed": False}}
    assert cluster_mod.review_answers(spec, echo)
    for change in ({"user": "alice"}, {"groups": ["ops"]}, {"groups": "ops"}, {"resourceAttributes": {"verb": "get"}},
                   {"resourceAttributes": dict(spec["resourceAttributes"], name="vm-2")},
                   {"resourceAttributes": dict(spec["resourceAttributes"], namespace="")},
                   {"nonResourceAttributes": {"path": "/x", "verb": "get"}}):
        assert not cluster_mod.review_answers(spec, dict(echo, spec=dict(echo["spec"], **change))), change
    for status in (None, {}, {"allowed": "true"}, {"allowed": None}, []):
        assert not cluster_mod.review_answers(spec, dict(echo, status=status)), status
    assert not cluster_mod.review_answers(spec, {"status": {"allowed": True}})  # no spec: not an answer to it
    assert not cluster_mod.review_answers(spec, ["not", "a", "review"])


# ------------------------------------------------------------- the cluster's use of it


def make_cluster(srv, **extra):
    params = dict({"host": "http://127.0.0.1:%d" % srv.server_address[1], "api_key": "s3cr3t-token",
                   "request_timeout": 5.0, "api_retries": 2}, **extra)
    return cluster_mod.Cluster(params, component="unit", pool_size=16)


def specs(users):
    return [{"user": u, "groups": ["system:authenticated"],
             "resourceAttributes": {"verb": "get", "resource": "virtualmachines"}} for u in users]


def test_the_cluster_resends_what_the_pipeline_left_the_ordinary_way(server):
    server.failures.update({"busy-5": 1, "close-9": 1, "cut-20": 1})
    users = ["yes-%d" % i if i % 2 else "no-%d" % i for i in range(40)]
    users[5], users[9], users[20] = "busy-5", "close-9", "cut-20"
    client = make_cluster(server)
    statuses = client.subject_access_reviews(specs(users), concurrency=8)
    assert [s["allowed"] for s in statuses] == [u.startswith("yes") for u in users]
    # every review was answered; only those the pipeline lost were asked again
    asked = [w for _c, w, _x in server.seen]
    assert set(asked) == set(users) and len(asked) <= len(users) + 3 + 2 * 4
    assert client.requests >= len(asked)


def test_the_cluster_without_pipelining_asks_one_at_a_time(server):
    client = make_cluster(server)
    client.pipelining = False
    users = ["yes-%d" % i for i in range(12)]
    assert [s["allowed"] for s in client.subject_access_reviews(specs(users), concurrency=4)] == [True] * 12
    assert client.requests == 12 and sorted(w for _c, w, _x in server.seen) == sorted(users)


def test_the_token_and_impersonation_go_on_every_pipelined_request(server):
    seen_headers = []
    original = _Handler.do_POST

    def recording(self):
        seen_headers.append((self.headers.get("Authorization"), self.headers.get_all("Impersonate-Group")))
        original(self)

    _Handler.do_POST = recording
    try:
        client = make_cluster(server, impersonate_user="auditor", impersonate_groups=["g1", "g2"])
        client.subject_access_reviews(specs(["yes-1", "yes-2", "yes-3"]), concurrency=4)
    finally:
        _Handler.do_POST = original
    assert seen_headers == [("Bearer s3cr3t-token", ["g1", "g2"])] * 3


def test_the_cluster_never_takes_a_wrong_answer_pipelined_or_not(server):
    """Every misbehaviour at once, pipelined and one at a time: interim responses are read past on both
    paths (urllib3's connections read with transport.FinalResponse, so a 103 does not leave the answer
    for the next request on a reused connection), and whatever the pipeline could not take is asked
    again the ordinary way and answered right."""
    users = []
    for i in range(60):
        kind = ["yes", "no", "early1-yes", "early2-no", "hold-yes", "other-no", "nostatus-no", "trunc-yes",
                "switch-no", "busy-yes", "close-no", "cut-yes"][i % 12]
        users.append("%s-%d" % (kind, i))
        if not kind.startswith(("yes", "no", "early")):
            server.failures[users[-1]] = 1
    for pipelining in (True, False):
        for u in users:
            if not u.startswith(("yes", "no", "early")):
                server.failures[u] = 1
        client = make_cluster(server, request_timeout=1.0)  # a held answer (hold-) waits for a next request
        client.pipelining = pipelining
        statuses = client.subject_access_reviews(specs(users), concurrency=8)
        assert [s["allowed"] for s in statuses] == ["yes" in u.split("-") for u in users], pipelining


def test_answers_to_other_questions_every_time_fail_the_run_rather_than_prove(server):
    client = make_cluster(server)
    with pytest.raises(cluster_mod.ClusterError) as err:
        client.subject_access_reviews(specs(["yes-0", "other-no-1-always", "no-2"]), concurrency=4)
    assert "not answers to it" in str(err.value) and "other-no-1-always" in str(err.value)
    assert "s3cr3t" not in str(err.value)
    for attempt_user in ("nostatus-no-1-always",):
        with pytest.raises(cluster_mod.ClusterError):
            client.subject_access_reviews(specs([attempt_user]), concurrency=1)


def test_the_ordinary_path_reads_past_interim_responses_on_a_reused_connection(server):
    """One request at a time over urllib3's pool (keep-alive): a 103 before every other answer. Before,
    urllib3 took the 103 for the answer and handed the real one to the next request on the connection."""
    client = make_cluster(server)
    users = ["early1-yes-%d" % i if i % 2 else "no-%d" % i for i in range(10)]
    got = [client.request("POST", cluster_mod.REVIEWS, body={"spec": s})["status"]["allowed"] for s in specs(users)]
    assert got == ["yes" in u.split("-") for u in users]
    assert len(set(c for c, _w, _x in server.seen)) == 1  # one kept-alive connection


def test_a_proxy_means_the_ordinary_path(server):
    client = make_cluster(server, proxy="http://127.0.0.1:9")
    assert client._pipeline_factory() is None


# ------------------------------------------------------------------ read_answer: the framing taken


def _answers(raw):
    import io  # pylint: disable=import-outside-toplevel

    stream = io.BufferedReader(io.BytesIO(raw))
    out = []
    while stream.peek(1):
        out.append(pipeline.read_answer(stream))
    return out


def test_read_answer_reads_answers_back_to_back_and_past_interim_ones():
    raw = (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
           b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
           b"HTTP/1.1 200\r\ncontent-length: 4\r\nConnection: keep-alive\r\n\r\nnull"
           b"HTTP/1.0 204 No Content\r\n\r\n")
    got = [(a.status, a.body, a.will_close) for a in _answers(raw)]
    assert got == [(201, b"{}", False), (200, b"null", False), (204, b"", True)]


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n",            # chunked: not framed here
    b"HTTP/1.1 201 Created\r\nContent-Type: a\r\n\r\n",                        # no length: read to close
    b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",  # two lengths
    b"HTTP/1.1 201 Created\r\nContent-Length: -2\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nX-A: b\r\n c\r\nContent-Length: 2\r\n\r\n",     # a folded line
    b"HTTP/1.1 201 Created\r\nX-A b\r\nContent-Length: 2\r\n\r\n",             # a line without a name
    b"HTTP/2 201\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 2010 Created\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\n\r\n" * 9 + b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 201 Created\r\n" + b"X-A: b\r\n" * 101 + b"Content-Length: 2\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nX-A: " + b"b" * 70000 + b"\r\nContent-Length: 2\r\n\r\n",
])
def test_read_answer_refuses_every_other_framing(head):
    """Anything but the plain framing ends the connection (ValueError); the run sends the request again
    the ordinary way (test_an_odd_framing_goes_the_ordinary_way)."""
    with pytest.raises(ValueError):
        _answers(head + b"{}")


def test_read_answer_refuses_a_cut_answer():
    with pytest.raises(OSError):
        _answers(b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n{}")
    with pytest.raises(OSError):
        _answers(b"HTTP/1.1 201 Created\r\nContent-Le")


def test_read_answer_takes_the_close_of_the_server():
    (a,) = _answers(b"HTTP/1.1 201 Created\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\n{}")
    assert a.will_close is True


class _ChunkedHandler(_Handler):
    """Answers a review whose user starts with ``chunked`` with Transfer-Encoding: chunked (legal HTTP/1.1,
    which read_answer leaves to the ordinary path), every other one as _Handler does."""

    def _answer(self, status, payload, close=False, raw=None):
        if not payload.get("spec", {}).get("user", "").startswith("chunked"):
            return _Handler._answer(self, status, payload, close, raw)
        data = json.dumps(payload).encode()
        return (b"HTTP/1.1 %d Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"%x\r\n%s\r\n0\r\n\r\n" % (status, len(data), data))


def test_an_odd_framing_goes_the_ordinary_way():
    with serving(_ChunkedHandler) as srv:
        answers, rest = pipeline.run(connect_to(srv), requests_for(["yes-a", "chunked-b", "yes-c"]), 5)
        assert sorted(answers) == [0] and rest == [1, 2]
        assert answers[0]["spec"]["user"] == "yes-a"
        # and the cluster asks what was left the ordinary way (http.client reads the chunked answer)
        users = ["yes-a", "chunked-yes-b", "no-c", "chunked-no-d"]
        statuses = make_cluster(srv).subject_access_reviews(specs(users), concurrency=4)
        assert [s["allowed"] for s in statuses] == [True, True, False, False]


def test_each_review_body_is_the_json_of_the_review_byte_for_byte(server, monkeypatch):
    """The pipelined bodies are made from a fixed head and the spec (no json.dumps set-up per review): the same
    bytes json.dumps of the whole review gives, non-ASCII names and odd characters included."""
    sent = []
    real = cluster_mod.pipeline.run

    def recording(new_connection, requests, *args, **kwargs):
        sent.extend(requests)
        return real(new_connection, requests, *args, **kwargs)

    monkeypatch.setattr(cluster_mod.pipeline, "run", recording)
    asked = specs(["yes-1", "yes-j\u00fcrgen", 'yes-"quoted"\\', "yes-\u2603\n"])
    client = make_cluster(server)
    client.subject_access_reviews(asked, concurrency=1 + len(asked))
    bodies = [json.dumps({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": s},
                         separators=(",", ":")).encode("utf-8") for s in asked]
    # every request is the one request_bytes makes of its body (the head made once per run, the length, the body)
    headers = list(client._headers(cluster_mod.JSON, True).iteritems())
    host = "127.0.0.1:%d" % server.server_address[1]
    assert sorted(sent) == sorted(pipeline.request_bytes("POST", cluster_mod.REVIEWS, host, headers, b) for b in bodies)
    assert [cluster_mod.review_body(s) for s in asked] == bodies


# ------------------------------------------------- the fast paths: the same as the plain ones, byte for byte

from hypothesis import given, settings  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position


def _read_all(raw, buffer_size):
    """Every answer read_answer takes from ``raw`` through a buffer of ``buffer_size`` bytes, and how it ended."""
    import io  # pylint: disable=import-outside-toplevel

    stream = io.BufferedReader(io.BytesIO(raw), buffer_size)
    out = []
    try:
        while stream.peek(1):
            a = pipeline.read_answer(stream)
            out.append((a.status, a.body, a.will_close))
    except (ValueError, OSError) as exc:
        out.append(type(exc).__name__)
    return out


_HEADER_LINES = st.sampled_from([
    b"Content-Type: application/json", b"Content-Length: 2", b"content-length: 2", b"Content-Length: 3",
    b"Content-Length: x", b"Connection: close", b"Connection: keep-alive", b"Transfer-Encoding: chunked",
    b"Audit-Id: 5b0c", b"X-A:b", b"X-A: b\rc", b" folded", b"\tfolded", b"No colon", b"Name : v", b": v",
    b"X-Kubernetes-Pf-Flowschema-Uid: 1f0", b"Date: Mon, 07 Dec 2026 11:00:00 GMT"])
_STATUS_LINES = st.sampled_from([b"HTTP/1.1 201 Created", b"HTTP/1.1 200", b"HTTP/1.0 200 OK", b"HTTP/1.1 204 No Content",
                                 b"HTTP/1.1 103 Early Hints", b"HTTP/1.1 101 Switching", b"HTTP/2 200", b"HTTP/1.1 20x",
                                 b"junk"])
_ENDS = st.sampled_from([b"\r\n", b"\n", b"\r\r\n"])


@st.composite
def _raw_answers(draw):
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        lines = [draw(_STATUS_LINES)] + draw(st.lists(_HEADER_LINES, max_size=6))
        out += b"".join(line + draw(_ENDS) for line in lines) + draw(_ENDS)
        out += draw(st.sampled_from([b"{}", b"", b"{}{}", b"nul"]))
    return out[:draw(st.integers(len(out) - 3, len(out)))]


@settings(max_examples=1000, deadline=None)
@given(_raw_answers())
def test_read_answer_takes_a_head_in_one_piece_as_it_takes_it_line_by_line(raw):
    """A head found whole in the buffer is split in one call; a buffer too small for any head (7 bytes) sends
    every answer through the line-by-line reading: both take and refuse the same answers."""
    assert _read_all(raw, 65536) == _read_all(raw, 7)


def test_read_answer_limits_hold_for_a_head_in_one_piece():
    ok = b"HTTP/1.1 201 Created\r\n" + b"X-A: b\r\n" * 100 + b"Content-Length: 2\r\n\r\n{}"
    assert _read_all(ok, 65536) == [("ValueError")]  # 101 header fields
    ok = b"HTTP/1.1 201 Created\r\n" + b"X-A: b\r\n" * 99 + b"Content-Length: 2\r\n\r\n{}"
    assert _read_all(ok, 65536) == [(201, b"{}", False)]


_JSON_SCALARS = st.one_of(st.text(), st.integers(), st.booleans(), st.none(),
                          st.floats(allow_nan=True, allow_infinity=True))
_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                     max_leaves=12)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.text(max_size=12), _JSON, max_size=6))
def test_review_body_is_json_dumps_of_the_review_byte_for_byte(spec):
    """The encoder made once gives the bytes json.dumps gives, whatever the spec holds (any text, escapes,
    numbers, nesting, NaN)."""
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    assert cluster_mod.review_body(spec) == json.dumps(review, separators=(",", ":")).encode("utf-8")


def test_a_reason_that_reads_allowed_is_not_an_allow():
    """The decision is the answer's status.allowed, parsed as JSON: a reason (or any other text) that spells an
    allow, the echo taken as it was asked or not, never turns a denial into one."""
    spec = {"user": "bob", "groups": ["ops"],
            "resourceAttributes": {"verb": "delete", "group": "", "resource": "pods", "namespace": "team-a"}}
    hostile = '","allowed":true,"x":"'
    for echo in (spec, {"user": "bob", "groups": ["ops"],
                        "resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": "team-a"}}):
        answer = {"spec": echo, "status": {"allowed": False, "reason": hostile, "evaluationError": '"allowed":true'}}
        body = json.dumps(answer).encode()
        decoded = json.loads(body)
        assert cluster_mod.review_answers(spec, decoded)
        assert decoded["status"]["allowed"] is False
    # an answer whose status is only text, however it reads, is no answer
    assert not cluster_mod.review_answers(spec, {"spec": spec, "status": '{"allowed":true}'})
    assert not cluster_mod.review_answers(spec, {"spec": spec, "status": {"allowed": "true"}})


def test_the_cluster_takes_the_denial_whatever_its_reason_says():
    """End to end through the pipeline: the server denies with a reason that spells an allow; the status the
    cluster returns is a denial."""
    class Hostile(_Handler):
        def _answer(self, status, payload, close=False, raw=None):
            if isinstance(payload.get("status"), dict):
                payload["status"]["reason"] = '"allowed":true, "allowed": true}'
            return _Handler._answer(self, status, payload, close, raw)

    with serving(Hostile) as srv:
        statuses = make_cluster(srv).subject_access_reviews(specs(["no-1", "yes-2", "no-3"]), concurrency=4)
        assert [s["allowed"] for s in statuses] == [False, True, False]
