"""Test-side handles on the local clusters: admin client, identities, audit log.

Tests talk to the clusters with the official Kubernetes client (as any user would) and
obtain credentials for any user with any groups (client certificates signed by the
cluster CA) and for any ServiceAccount (TokenRequest). Nothing here fakes the API.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import kubernetes.client as k8s
import yaml
from kubernetes.client.rest import ApiException

from tests.controlplane import controlplane as cp
from tests.helpers import kubevirt_roles, leaks

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_ROLES = ROOT / "files" / "reference-roles.yaml"
CONSOLE_ROLE = ROOT / "files" / "console-role.yaml"
GOLDEN_IMAGE_ROLE = ROOT / "files" / "golden-image-role.yaml"
# KubeVirt's cluster roles and bindings as KubeVirt's own code makes them (tests/helpers/kubevirt_roles.py),
# of the release the shared clusters run: the newest of kubevirt_roles.VERSIONS. apply_manifest builds
# the file when it is missing (make kubevirt-roles builds it beforehand).
KUBEVIRT_VERSION = kubevirt_roles.VERSIONS[-1]
KUBEVIRT_ROLES = kubevirt_roles.output_path(KUBEVIRT_VERSION)
# CDI's aggregated DataVolume roles (a stand-in: tests/fixtures/cdi-roles.yaml says why not generated).
CDI_ROLES = ROOT / "tests" / "fixtures" / "cdi-roles.yaml"
KUBEVIRT_CRDS = ROOT / "tests" / "fixtures" / "kubevirt-crds.yaml"
RBAC_GROUP = "rbac.authorization.k8s.io"
# Seconds for the controllers of a cluster to do what a test set up (a CRD established, roles aggregated):
# a bound that holds at a load of 20 to 30 on 2 cores and still catches what never happens.
WAIT_TIMEOUT = 180.0


def binding_manifest(kind, name, role, user, namespace=None, labels=None):
    """A (Cluster)RoleBinding of ClusterRole ``role`` to one User, made by hand (not by the module)."""
    meta = {"name": name, "labels": labels or {}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": RBAC_GROUP + "/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": user}]}


def _atoms(rules):
    """(verb, group, resource) of every rule (resource rules only)."""
    return [(v, g, r) for rule in rules or () for v in rule.get("verbs") or () for g in rule.get("apiGroups") or ()
            for r in rule.get("resources") or ()]


def audit_ts(text):
    """An audit event's timestamp (RFC 3339 with microseconds) as seconds since the epoch."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _client(server: str, ca: Path, cert: Path | None = None, key: Path | None = None, token: str | None = None):
    cfg = k8s.Configuration()
    cfg.host = server
    cfg.ssl_ca_cert = str(ca)
    if cert:
        cfg.cert_file, cfg.key_file = str(cert), str(key)
    if token:
        cfg.api_key = {"authorization": "Bearer " + token}
    return k8s.ApiClient(cfg)


@dataclass
class Identity:
    """Credentials of one test identity, usable as module connection params."""

    user: str
    groups: tuple
    params: dict  # host, ca_cert, client_cert/client_key or api_key
    client: k8s.ApiClient
    kubeconfig: Path

    def rbac(self):
        return k8s.RbacAuthorizationV1Api(self.client)


@dataclass
class TestCluster:
    """One running local cluster as the tests see it."""

    name: str
    server: str
    ca: Path
    pki: Path
    audit_log: Path
    workdir: Path
    _identities: dict = field(default_factory=dict)

    @classmethod
    def from_controlplane(cls, c: cp.Cluster, workdir: Path):
        return cls(c.name, c.server, c.ca_file, c.pki, c.audit_log, workdir)

    # ------------------------------------------------------------- clients

    @property
    def admin(self) -> k8s.ApiClient:
        if "admin" not in self._identities:
            self._identities["admin"] = _client(self.server, self.ca, self.pki / "admin.crt", self.pki / "admin.key")
        return self._identities["admin"]

    def rbac(self, client=None):
        return k8s.RbacAuthorizationV1Api(client or self.admin)

    def core(self, client=None):
        return k8s.CoreV1Api(client or self.admin)

    def identity(self, user: str, groups=("system:masters",)) -> Identity:
        """A client-certificate identity; by default a cluster admin with its own user name,
        so that its requests can be told apart in the audit log."""
        key = ("cert", user, tuple(groups))
        if key in self._identities:
            return self._identities[key]
        d = self.workdir / "identities" / self.name / uuid.uuid4().hex[:8]
        d.mkdir(parents=True)
        cert_pem, key_pem = cp.issue_client_cert(self.pki, user, groups)
        leaks.register("the private key of identity %s" % user, key_pem)
        (d / "tls.crt").write_bytes(cert_pem)
        (d / "tls.key").write_bytes(key_pem)
        (d / "tls.key").chmod(0o600)
        params = {"host": self.server, "ca_cert": str(self.ca), "client_cert": str(d / "tls.crt"),
                  "client_key": str(d / "tls.key")}
        kubeconfig = self._write_kubeconfig(d, user, {"client-certificate": str(d / "tls.crt"),
                                                       "client-key": str(d / "tls.key")})
        ident = Identity(user, tuple(groups), params,
                         _client(self.server, self.ca, d / "tls.crt", d / "tls.key"), kubeconfig)
        self._identities[key] = ident
        return ident

    def service_account(self, namespace: str, name: str, expiration: int = 3600) -> Identity:
        """A ServiceAccount (created if missing) with a bound token from TokenRequest."""
        core = self.core()
        try:
            core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        except ApiException as exc:
            if exc.status != 409:
                raise
        tr = core.create_namespaced_service_account_token(
            name, namespace, {"spec": {"expirationSeconds": expiration}})
        token = tr.status.token
        leaks.register("the token of ServiceAccount %s/%s" % (namespace, name), token)
        d = self.workdir / "identities" / self.name / uuid.uuid4().hex[:8]
        d.mkdir(parents=True)
        kubeconfig = self._write_kubeconfig(d, f"sa-{namespace}-{name}", {"token": token})
        user = f"system:serviceaccount:{namespace}:{name}"
        return Identity(user, ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
                        {"host": self.server, "ca_cert": str(self.ca), "api_key": token},
                        _client(self.server, self.ca, token=token), kubeconfig)

    def _write_kubeconfig(self, d: Path, user: str, creds: dict) -> Path:
        path = d / "kubeconfig"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": self.name,
            "clusters": [{"name": self.name, "cluster": {"server": self.server,
                                                         "certificate-authority": str(self.ca)}}],
            "users": [{"name": user, "user": creds}],
            "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": user}}],
        }))
        path.chmod(0o600)
        return path

    # ------------------------------------------------------------- objects

    def apply_manifest(self, path: Path):
        """Create or replace the ClusterRoles, ClusterRoleBindings and CRDs of a manifest (what the tests
        install). KubeVirt's generated roles are built first when missing."""
        if not path.exists() and kubevirt_roles.BUILD in path.parents:
            kubevirt_roles.build(path.parent.name)
        rbac = self.rbac()
        ext = k8s.ApiextensionsV1Api(self.admin)
        ops = {
            "ClusterRole": (rbac.create_cluster_role, rbac.read_cluster_role, rbac.replace_cluster_role),
            "ClusterRoleBinding": (rbac.create_cluster_role_binding, rbac.read_cluster_role_binding,
                                   rbac.replace_cluster_role_binding),
            "CustomResourceDefinition": (ext.create_custom_resource_definition,
                                         ext.read_custom_resource_definition,
                                         ext.replace_custom_resource_definition),
        }
        crds = []
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            create, read, replace = ops[doc["kind"]]
            name = doc["metadata"]["name"]
            try:
                create(doc)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                doc["metadata"]["resourceVersion"] = read(name).metadata.resource_version
                replace(name, doc)
            if doc["kind"] == "CustomResourceDefinition":
                crds.append(name)
        deadline = time.monotonic() + WAIT_TIMEOUT
        for name in crds:  # served only once Established
            while not any(c.type == "Established" and c.status == "True"
                          for c in (ext.read_custom_resource_definition(name).status.conditions or [])):
                assert time.monotonic() < deadline, "CRD %s not established" % name
                time.sleep(0.1)

    def install_kubevirt(self, version: str = KUBEVIRT_VERSION, timeout: float = WAIT_TIMEOUT):
        """KubeVirt ``version``'s generated cluster roles and bindings (replacing another release's: roles of
        KubeVirt that this release does not make are deleted), CDI's stand-in roles, and a KubeVirt custom
        resource whose status names ``version`` (as virt-operator reports it); returns once the controller
        manager aggregated the release's rules into admin, edit and view. Needs the CRDs (KUBEVIRT_CRDS)."""
        objects = kubevirt_roles.objects(version)
        names = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterRole"}
        rbac = self.rbac()
        for role in rbac.list_cluster_role(label_selector="kubevirt.io").items:
            if role.metadata.name not in names:
                rbac.delete_cluster_role(role.metadata.name)
        self.apply_manifest(kubevirt_roles.build(version))
        self.apply_manifest(CDI_ROLES)
        self.set_kubevirt_status(version)
        self.wait_for_aggregation(timeout, version)

    def set_kubevirt_status(self, version: str | None):
        """The KubeVirt custom resource kubevirt/kubevirt with ``status.observedKubeVirtVersion`` (None:
        no custom resource at all)."""
        api = k8s.CustomObjectsApi(self.admin)
        try:
            api.delete_namespaced_custom_object("kubevirt.io", "v1", "kubevirt", "kubevirts", "kubevirt")
        except ApiException as exc:
            if exc.status != 404:
                raise
        if version is None:
            return
        self.namespace("kubevirt")
        api.create_namespaced_custom_object("kubevirt.io", "v1", "kubevirt", "kubevirts", {
            "apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt"},
            "spec": {}, "status": {"observedKubeVirtVersion": version, "targetKubeVirtVersion": version}})

    def namespace(self, name: str, labels: dict | None = None):
        try:
            self.core().create_namespace({"metadata": {"name": name, "labels": labels or {}}})
        except ApiException as exc:
            if exc.status != 409:
                raise
        return name

    def delete_namespace(self, name: str):
        try:
            self.core().delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def can(self, user: str, verb: str, resource: str, group: str = "", namespace: str = "",
            subresource: str = "", groups=None) -> bool:
        """Ask the API server (SubjectAccessReview) whether user/groups may do it."""
        body = {"spec": {"user": user, "groups": list(groups if groups is not None else ["system:authenticated"]),
                         "resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                                                "subresource": subresource, "namespace": namespace}}}
        res = k8s.AuthorizationV1Api(self.admin).create_subject_access_review(body)
        return bool(res.status.allowed)

    def wait_until_can(self, user: str, verb: str, resource: str, group: str = "", namespace: str = "",
                       subresource: str = "", groups=None, allowed: bool = True, timeout: float = 60.0) -> None:
        """Asks as ``can`` does until the answer is ``allowed``; fails after ``timeout`` naming the question.
        The API server's RBAC authorizer learns of a written binding through its informer, a moment after
        the write returned: asked right after a create, 4 of 200 questions were denied at a load of 11-15
        (and CI once failed test_capability_model so). A test that asserts access right after it (or a
        module it ran) wrote waits for the answer here; an answer that never comes still fails."""
        deadline = time.monotonic() + timeout
        while self.can(user, verb, resource, group, namespace, subresource, groups) != allowed:
            if time.monotonic() > deadline:
                raise AssertionError("after %.0f s, %s %s still may%s %s %s%s%s in %s" % (
                    timeout, user, list(groups or []), "" if not allowed else " not", verb,
                    resource, "/" + subresource if subresource else "", "." + group if group else "",
                    namespace or "the whole cluster"))
            time.sleep(0.1)

    def wait_for_aggregation(self, timeout: float = WAIT_TIMEOUT, version: str | None = None):
        """Wait until the controller manager merged the kubevirt.io:* rules into admin/edit/view (those of
        KubeVirt ``version`` exactly, when given: its admin, edit and view rules and no other release's,
        besides the kubevirt.io rules of any other ClusterRole labelled to aggregate into them)."""
        deadline = time.monotonic() + timeout
        rbac = self.rbac()
        want = None
        if version is not None:
            roles = kubevirt_roles.cluster_roles(version)
            want = {}
            for target in ("admin", "edit", "view"):
                atoms = set()
                for name in ("kubevirt.io:" + t for t in ("admin", "edit", "view")[("admin", "edit", "view").index(target):]):
                    atoms.update(_atoms(roles[name].get("rules")))
                want[target] = atoms
        def kubevirt_atoms(atoms):
            return set(a for a in atoms if a[1].endswith("kubevirt.io") and not a[1].startswith("cdi."))

        chain = ("admin", "edit", "view")
        while True:
            ok = True
            others = {}
            if want is not None:
                # other ClusterRoles that aggregate into admin, edit or view (a layout of the differential
                # widens the standard roles by label) add their kubevirt.io rules too: KubeVirt's are
                # merged when they are there besides those, nothing else
                for r in rbac.list_cluster_role().items:
                    labels = r.metadata.labels or {}
                    if r.metadata.name.startswith("kubevirt.io:") or r.metadata.name in chain:
                        continue
                    atoms = _atoms([{"apiGroups": x.api_groups, "resources": x.resources, "verbs": x.verbs}
                                    for x in r.rules or []])
                    for target in chain:
                        if any(labels.get("rbac.authorization.k8s.io/aggregate-to-" + t) == "true"
                               for t in chain[chain.index(target):]):
                            others.setdefault(target, set()).update(atoms)
            for role in chain:
                rules = rbac.read_cluster_role(role).rules or []
                if want is None:
                    if not any("kubevirt.io" in (r.api_groups or []) for r in rules):
                        ok = False
                    continue
                have = kubevirt_atoms(_atoms([{"apiGroups": r.api_groups, "resources": r.resources,
                                               "verbs": r.verbs} for r in rules]))
                if have != kubevirt_atoms(want[role] | others.get(role, set())):
                    ok = False
            if ok:
                return
            if time.monotonic() > deadline:
                raise AssertionError("ClusterRole aggregation did not merge kubevirt.io rules%s within %ss"
                                     % (" of KubeVirt %s" % version if version else "", timeout))
            time.sleep(0.2)

    def bindings(self, owner: str | None = None):
        """{(kind, namespace, name): object dict} of bindings, optionally of one owner."""
        sel = f"vmo.rbac/owner={owner}" if owner else None
        rbac = self.rbac()
        out = {}
        for item in rbac.list_cluster_role_binding(label_selector=sel).items:
            out[("ClusterRoleBinding", "", item.metadata.name)] = self.admin.sanitize_for_serialization(item)
        for item in rbac.list_role_binding_for_all_namespaces(label_selector=sel).items:
            out[("RoleBinding", item.metadata.namespace, item.metadata.name)] = \
                self.admin.sanitize_for_serialization(item)
        return out

    def delete_binding(self, kind: str, namespace: str, name: str):
        """Delete one (Cluster)RoleBinding (already gone: fine)."""
        rbac = self.rbac()
        try:
            if kind == "ClusterRoleBinding":
                rbac.delete_cluster_role_binding(name)
            else:
                rbac.delete_namespaced_role_binding(name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def delete_bindings(self, owner: str):
        """Delete every binding of one owner (already gone: fine)."""
        for (kind, ns, name) in self.bindings(owner):
            self.delete_binding(kind, ns, name)

    # ---------------------------------------------------------------- audit

    def audit(self) -> "AuditWindow":
        return AuditWindow(self.audit_log)


class AuditWindow:
    """The audit events written after this object was made (JSON lines, Metadata level)."""

    WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def events(self, user: str | None = None, user_agent: str | None = None, settle: float = 0.3,
               stage: str = "ResponseComplete"):
        time.sleep(settle)  # the log backend writes synchronously; this only covers in-flight requests
        with open(self.path, "rb") as fh:
            # A reader can see an event half-written (the API server appends one line per event,
            # and a concurrent read may end, or the window may have started, inside one): skip
            # the tail of an event that began before the window, and ignore an unfinished last line.
            start = self.offset
            if start > 0:
                fh.seek(start - 1)
                if fh.read(1) != b"\n":
                    rest = fh.readline()
                    start += len(rest)
            fh.seek(start)
            data = fh.read()
        data = data[:data.rfind(b"\n") + 1]
        out = []
        for line in data.splitlines():
            if not line.strip():
                continue
            ev = json.loads(line)
            if ev.get("stage") != stage:  # a WATCH is logged at ResponseStarted, and when it ends
                continue
            if user and ev.get("user", {}).get("username") != user:
                continue
            if user_agent and not (ev.get("userAgent") or "").startswith(user_agent):
                continue
            out.append(ev)
        return out

    # "create" on these is a question to the API server, not a write: nothing is persisted.
    REVIEWS = ("subjectaccessreviews", "localsubjectaccessreviews", "selfsubjectaccessreviews",
               "selfsubjectreviews", "selfsubjectrulesreviews", "tokenreviews")

    @classmethod
    def is_write(cls, ev):
        return ev["verb"] in cls.WRITE_VERBS and (ev.get("objectRef") or {}).get("resource") not in cls.REVIEWS

    def writes(self, **kw):
        """Requests that change stored state (access reviews are not writes)."""
        return [e for e in self.events(**kw) if self.is_write(e)]

    def reads(self, **kw):
        return [e for e in self.events(**kw) if not self.is_write(e)]
