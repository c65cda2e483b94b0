"""Retries are bounded: a Retry-After longer than RETRY_AFTER_MAX is cut (issue 6, fault proxy)."""

from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster
from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette


def test_retry_after_is_honoured_up_to_the_cap():
    retry = transport.BoundedRetry(total=2, status_forcelist=transport.RETRY_STATUSES, respect_retry_after_header=True)
    assert retry.parse_retry_after("1") == 1
    assert retry.parse_retry_after("3600") == transport.RETRY_AFTER_MAX
    assert retry.parse_retry_after("Wed, 21 Oct 2099 07:28:00 GMT") == transport.RETRY_AFTER_MAX
    # urllib3 makes a new Retry object per attempt: the cap must survive that.
    later = retry.new(total=1)
    assert type(later) is transport.BoundedRetry
    assert later.parse_retry_after("86400") == transport.RETRY_AFTER_MAX


def test_both_clients_share_one_transport_bounded_retry_and_scrubber():
    """The Kubernetes and the Palette client send through one transport.Transport each, with the retry
    policy transport.retry_policy makes (issue 21 item 4)."""
    kube = cluster.Cluster({"host": "https://127.0.0.1:6443", "api_key": "t0ken-abc", "validate_certs": False,
                            "api_retries": 3})
    pal = palette.PaletteClient("https://127.0.0.1:8443", "k3y-abcdef", validate_certs=False, retries=3)
    for client in (kube, pal):
        assert type(client.http) is transport.Transport
        assert type(client.retry) is transport.BoundedRetry and client.retry.total == 3
    assert kube.pool is kube.http.pool and kube.requests == pal.requests == 0
    assert transport.scrub("https://user:pw@host/x s3cret", ["s3cret"]) == "https://***@host/x ***"


def test_backoff_between_attempts_is_capped_in_every_urllib3_version():
    """At most BACKOFF_MAX seconds between two attempts (docs/security.md), api_retries up to 20: urllib3
    2.x would cap at its backoff_max, 1.26 (which kubernetes >= 24.2 accepts) has no such argument."""
    from urllib3.util.retry import RequestHistory

    retry = transport.BoundedRetry(total=20, backoff_factor=0.25, status_forcelist=transport.RETRY_STATUSES)
    errors = tuple(RequestHistory("GET", "/api", None, 503, None) for _ in range(19))
    assert retry.new(history=errors[:3]).get_backoff_time() == 1.0  # 0.25 s doubling
    assert retry.new(history=errors).get_backoff_time() == transport.BACKOFF_MAX
