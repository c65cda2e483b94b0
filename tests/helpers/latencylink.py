"""The fault proxy's latency model at the TCP layer, cheap enough for a fleet of 200 hosts.

``tests/helpers/faultproxy.FaultProxy(latency=...)`` terminates TLS and forwards each HTTP request
in Python: about 4 ms of its CPU per request on this 2-core machine (docs/performance.md, section
5). A 200-host fleet run sends about 910,000 requests (4,547 per host in a first run, 4,512 of them
SubjectAccessReviews: docs/performance.md, section 9): 3,600 CPU-seconds of proxy, six times the 600 the
machine has in the five minutes the benchmark aims at. This link
applies the same model below TLS instead, so its cost is a recv and a send per chunk of bytes,
whatever the requests inside:

- a new connection waits one round trip (the TCP handshake) before the link connects to the API
  server; the TLS handshake then costs its own round trip, because its bytes cross the link: two
  round trips before the TLS handshake completes, as ``FaultProxy``'s model;
- every chunk of bytes, either way, arrives half a round trip after it left, in order, whatever
  else is in flight: latency, no bandwidth limit. A request's answer arrives one round trip after
  it was sent; a window of pipelined requests costs one round trip, as on a real link.

TLS is end to end (the API server's own certificate, verified by the client as usual), so a client
certificate reaches the API server: every host keeps its own identity, which the audit log counts.
The links run in a process of their own (``LatencyLinks``: one listening port per API server and
latency), so their CPU is neither the benchmark's nor the controller's, and it is measured apart.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from urllib.parse import urlsplit

CHUNK = 262144


async def _pump(reader, writer, delay):
    """Copy reader -> writer, each chunk delivered ``delay`` seconds after it was read, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            pass

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((loop.time() + delay, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


def _serve(routes, rtt, ready, stats):
    """In the link process: one listener per (listen port -> upstream host, port)."""

    async def main():
        servers = []
        count = {"connections": 0}

        def handler_for(upstream):
            async def handle(creader, cwriter):
                count["connections"] += 1
                if rtt:
                    await asyncio.sleep(rtt)  # the TCP handshake: one round trip
                try:
                    ureader, uwriter = await asyncio.open_connection(*upstream)
                except OSError:
                    cwriter.close()
                    return
                try:
                    await asyncio.gather(_pump(creader, uwriter, rtt / 2), _pump(ureader, cwriter, rtt / 2))
                finally:
                    for w in (cwriter, uwriter):
                        try:
                            w.close()
                        except OSError:
                            pass
            return handle

        for listen_port, upstream in routes:
            servers.append(await asyncio.start_server(handler_for(upstream), "127.0.0.1", listen_port,
                                                      backlog=1024, reuse_address=True))
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        ready.send(ports)
        while True:
            await asyncio.sleep(0.5)
            ru = resource.getrusage(resource.RUSAGE_SELF)
            stats[0] = ru.ru_utime + ru.ru_stime
            stats[1] = count["connections"]

    asyncio.run(main())


class LatencyLinks:
    """A process that puts each of ``servers`` (https://127.0.0.1:PORT URLs) ``rtt`` seconds of
    round-trip time away. ``url(server)`` is the address to give the client instead; ``cpu_seconds()``
    what the links have used so far."""

    def __init__(self, servers, rtt):
        self.rtt = rtt
        self.servers = list(servers)
        routes = []
        for s in self.servers:
            u = urlsplit(s)
            routes.append((0, (u.hostname, u.port)))
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._stats = ctx.Array("d", 2, lock=False)
        self._proc = ctx.Process(target=_serve, args=(routes, rtt, child, self._stats), daemon=True)
        self._proc.start()
        if not parent.poll(300):  # a spawned interpreter imports the caller's main module first: slow on a loaded machine
            self.stop()
            raise RuntimeError("the latency links did not start")
        ports = parent.recv()
        self._urls = {s: "https://127.0.0.1:%d" % p for s, p in zip(self.servers, ports)}

    def url(self, server):
        return self._urls[server]

    def cpu_seconds(self):
        """CPU (user + system) of the link process so far, sampled every half second."""
        time.sleep(0.6)
        return self._stats[0]

    def connections(self):
        time.sleep(0.6)
        return int(self._stats[1])

    def stop(self):
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

