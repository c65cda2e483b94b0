#!/usr/bin/env python3
"""One fleet200 host's validation in-process (validate.run), reached through the latency link (150 ms by
default), for the checkout TREE (its .build/collections); bench_fleet200.py's clusters must be running (--keep).

    .venv/bin/python tests/bench/flow_validate_latency.py TREE --concurrencies 16,64 --runs 2
        # alternating concurrencies in one process: the module's CPU (user, system), the wall, the API server's CPU
        # (its processes, /proc) per SubjectAccessReview counted in its audit log, and a digest of the result
        # (the same digest: the same result); a negative concurrency runs that one with the cyclic GC off
    .venv/bin/python tests/bench/flow_validate_latency.py TREE --runs 1 --pipelines 1 --concurrency 8 --profile F
        # cProfile (CPU clock) of one run, the reviews on one connection so that the profiler sees them
"""
import argparse, cProfile, pstats, statistics, sys, time
from pathlib import Path
ap = argparse.ArgumentParser()
ap.add_argument("tree"); ap.add_argument("--ms", type=int, default=150); ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--profile"); ap.add_argument("--concurrency", type=int); ap.add_argument("--host", default="f200-h001")
ap.add_argument("--dump"); ap.add_argument("--concurrencies", default=""); ap.add_argument("--pipelines", type=int)
def main():
    global a, tree, params, cparams
    a = ap.parse_args()
    tree = a.tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2])); sys.path.insert(0, tree + '/.build/collections')
    from tests.bench.common import ROOT
    try: sys.path.remove(str(ROOT / '.build' / 'collections'))
    except ValueError: pass
    sys.path.insert(0, tree + '/.build/collections')
    from tests.bench import bench_fleet200 as b
    from tests.controlplane import controlplane as cp
    from tests.helpers.kube import TestCluster
    from tests.helpers.latencylink import LatencyLinks
    from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as decls, options
    from ansible_collections.vmo.rbac.plugins.module_utils._flows import validate
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster
    assert validate.__file__.startswith(tree), validate.__file__
    if a.pipelines:
        import ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster as CL
        CL.PIPELINES = a.pipelines
    idx = int(a.host.rsplit('h', 1)[1])
    c = [x for x in cp.known_clusters() if x.name == 'bench-f200-%d' % (((idx - 1) % 8) + 1)][0]; c.load()
    tc = TestCluster.from_controlplane(c, ROOT / 'reports' / 'bench' / 'work')
    ident = tc.identity(a.host)
    links = LatencyLinks([tc.server], a.ms / 1000.0) if a.ms else None
    cparams = dict(ident.params, request_timeout=30.0, api_retries=5)
    if links: cparams["host"] = links.url(tc.server)
    params = dict(cparams, owner=a.host, bindings=b.declaration(a.host), fail_on_drift=False)
    if a.concurrency: params["concurrency"] = a.concurrency
    def once():
        decl = decls.from_module_args(params); opts = options.parse(params, decl)
        cl = Cluster(dict(cparams), component='bench', pool_size=opts.concurrency)
        return validate.run(decl, opts, cl, check_mode=True)
    try:
        from tests.bench.bench_fleet import cpu_ticks
        if a.concurrencies:
            base = dict(params)
            res = {}
            once()
            for rep in range(a.runs):
                for conc in [int(x) for x in a.concurrencies.split(",")]:
                    import gc, os as _os
                    gcoff = conc < 0; conc = abs(conc)
                    if gcoff: gc.disable()
                    params = dict(base, concurrency=conc)
                    import resource as _r
                    win = tc.audit(); s0 = cpu_ticks([c.name]); w = time.monotonic(); t = time.process_time(); ru0 = _r.getrusage(_r.RUSAGE_SELF)
                    r = once()
                    ru1 = _r.getrusage(_r.RUSAGE_SELF)
                    gc.enable(); print("gc off" if gcoff else "gc on", gc.get_count(), gc.get_stats()[2])
                    print("user %.3f sys %.3f vcsw %d ivcsw %d" % (ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime, ru1.ru_nvcsw - ru0.ru_nvcsw, ru1.ru_nivcsw - ru0.ru_nivcsw), flush=True)
                    cpu = time.process_time() - t; wall = time.monotonic() - w; srv = cpu_ticks([c.name]) - s0
                    evs = win.events(user=ident.user if hasattr(ident, "user") else None)
                    sar = sum(1 for e in evs if e.get("objectRef", {}).get("resource") == "subjectaccessreviews")
                    import json as _j
                    r2 = dict(r); r2["summary"] = dict(r["summary"]); r2["summary"].pop("seconds", None)
                    digest = hash(_j.dumps(r2, sort_keys=True, default=str))
                    res.setdefault(conc, []).append((cpu, wall, srv, sar, len(evs)))
                    print("conc %d: client CPU %.3f wall %.1f API server CPU %.2f reviews %d events %d -> server ms/review %.3f passed %s digest %s" % (
                        conc, cpu, wall, srv, sar, len(evs), 1000 * srv / max(1, sar), r["passed"], digest), flush=True)
            return
        once()
        out, walls = [], []
        for i in range(a.runs):
            prof = cProfile.Profile(time.process_time) if a.profile and i == 0 else None
            w = time.monotonic(); t = time.process_time()
            if prof: prof.enable()
            r = once()
            if prof: prof.disable(); prof.dump_stats(a.profile)
            out.append(time.process_time() - t); walls.append(time.monotonic() - w)
        print(tree, a.ms, 'ms: validate CPU median %.3f' % statistics.median(out), [round(x, 3) for x in out],
              'wall', [round(x, 1) for x in walls], 'requests', r['summary'].get('requests'), 'passed', r['passed'],
              'checks', r['summary'].get('checks'), flush=True)
        if a.dump:
            import json
            r2 = dict(r); r2['summary'] = dict(r['summary']); r2['summary'].pop('seconds', None); r2['summary'].pop('requests', None)
            Path(a.dump).write_text(json.dumps(r2, sort_keys=True, default=str))
    finally:
        if links: links.stop()

if __name__ == "__main__":
    main()
