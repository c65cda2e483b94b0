#!/usr/bin/env python3
"""The validation of one fleet200 host in-process (validate.run), CPU of 3 runs after a warm-up, for the
checkout TREE (its .build/collections); bench_fleet200.py's clusters must be running (--keep).

    .venv/bin/python tests/bench/flow_validate_one_host.py TREE
"""
import statistics
import sys
import time
from pathlib import Path

tree = sys.argv[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[2])); sys.path.insert(0, tree + '/.build/collections')
from tests.bench.common import ROOT
sys.path.remove(str(ROOT / '.build' / 'collections')); sys.path.insert(0, tree + '/.build/collections')
from tests.bench import bench_fleet200 as b
from tests.controlplane import controlplane as cp
from tests.helpers.kube import TestCluster
from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as decls, options
from ansible_collections.vmo.rbac.plugins.module_utils._flows import validate
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster
import ansible_collections.vmo.rbac.plugins.module_utils._flows.validate as V
assert V.__file__.startswith(tree), V.__file__
c = [x for x in cp.known_clusters() if x.name == 'bench-f200-1'][0]; c.load()
tc = TestCluster.from_controlplane(c, ROOT / 'reports' / 'bench' / 'work')
ident = tc.identity('f200-h001')
params = dict(ident.params, owner='f200-h001', bindings=b.declaration('f200-h001'), request_timeout=30.0, api_retries=5, fail_on_drift=False)
def once():
    decl = decls.from_module_args(params); opts = options.parse(params, decl)
    cl = Cluster(dict(ident.params, request_timeout=30.0, api_retries=5), component='bench', pool_size=opts.concurrency)
    return validate.run(decl, opts, cl, check_mode=True)
once()
out=[]
for _ in range(3):
    t=time.process_time(); r=once(); out.append(time.process_time()-t)
print(tree, 'validate CPU median %.3f' % statistics.median(out), [round(x,3) for x in out], 'reviews', r['summary'] if 'summary' in r else '', flush=True)
