"""HTTP/1.1 pipelining of SubjectAccessReviews (module_utils/pipeline.py) against a local HTTP/1.1
server (Python's http.server on loopback) that answers, refuses, closes or cuts as told by each
request's body; and Cluster.subject_access_reviews sending what the pipeline left the ordinary
way. The real API server's side is in tests/integration/test_validate.py."""

import http.client
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils import cluster as cluster_mod
from ansible_collections.vmo.rbac.plugins.module_utils import pipeline


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

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
        if times and what.startswith("cut"):  # no answer at all: the connection is reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        status, payload, close = 201, {"kind": "SubjectAccessReview", "status": {"allowed": what.startswith("yes")}}, False
        if times and what.startswith("busy"):
            status, payload = 503, {"kind": "Status", "code": 503}
        if times and what.startswith("close"):
            close = True
        data = b"{not json" if times and what.startswith("junk") else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.seen, srv.failures = [], {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


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


def test_a_proxy_means_the_ordinary_path(server):
    client = make_cluster(server, proxy="http://127.0.0.1:9")
    assert client._pipeline_factory() is None
