"""Retries are bounded: a Retry-After longer than RETRY_AFTER_MAX is cut (issue 6, fault proxy)."""

from ansible_collections.vmo.rbac.plugins.module_utils import cluster, palette, transport


def test_retry_after_is_honoured_up_to_the_cap():
    retry = cluster.BoundedRetry(total=2, status_forcelist=cluster.RETRY_STATUSES, respect_retry_after_header=True)
    assert retry.parse_retry_after("1") == 1
    assert retry.parse_retry_after("3600") == transport.RETRY_AFTER_MAX
    assert retry.parse_retry_after("Wed, 21 Oct 2099 07:28:00 GMT") == transport.RETRY_AFTER_MAX
    # urllib3 makes a new Retry object per attempt: the cap must survive that.
    later = retry.new(total=1)
    assert type(later) is cluster.BoundedRetry
    assert later.parse_retry_after("86400") == transport.RETRY_AFTER_MAX


def test_both_clients_share_one_bounded_retry_and_one_scrubber():
    assert cluster.BoundedRetry is palette._BoundedRetry is transport.BoundedRetry
    assert transport.scrub("https://user:pw@host/x s3cret", ["s3cret"]) == "https://***@host/x ***"


def test_backoff_between_attempts_is_capped_in_every_urllib3_version():
    """At most BACKOFF_MAX seconds between two attempts (docs/security.md), api_retries up to 20: urllib3
    2.x would cap at its backoff_max, 1.26 (which kubernetes >= 24.2 accepts) has no such argument."""
    from urllib3.util.retry import RequestHistory

    retry = cluster.BoundedRetry(total=20, backoff_factor=0.25, status_forcelist=cluster.RETRY_STATUSES)
    errors = tuple(RequestHistory("GET", "/api", None, 503, None) for _ in range(19))
    assert retry.new(history=errors[:3]).get_backoff_time() == 1.0  # 0.25 s doubling
    assert retry.new(history=errors).get_backoff_time() == transport.BACKOFF_MAX
