import pytest
from django.core.cache import cache
from django.test import RequestFactory

from mendian.accounts.net import client_ip, rate_limit_subject
from mendian.accounts.ratelimit import Limit, limits_take
from mendian.core.errors import RateLimited


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (set(), "198.51.100.7", "1.1.1.1", "198.51.100.7"),  # nobody trusted: the peer
        ({"10.0.0.1"}, "198.51.100.7", "1.1.1.1", "198.51.100.7"),  # the peer is not our proxy
        ({"10.0.0.1"}, "10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ({"10.0.0.1"}, "10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # left part is the client's word
        ({"10.0.0.0/8"}, "10.0.0.1", "6.6.6.6, 203.0.113.9, 10.2.3.4", "203.0.113.9"),  # two of our hops
        ({"10.0.0.1"}, "10.0.0.1", "", "10.0.0.1"),
        ({"10.0.0.1"}, "10.0.0.1", "garbage", "10.0.0.1"),
        ({"10.0.0.0/8"}, "10.0.0.1", "203.0.113.9, nonsense, 10.0.0.2", "10.0.0.2"),
        ({"::1"}, "::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_ip_believes_only_trusted_hops(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted

    assert client_ip(_request(remote, forwarded)) == expected


def test_ipv6_clients_share_a_limit_per_64():
    assert rate_limit_subject("2001:db8:1:2:aaaa::1") == rate_limit_subject("2001:db8:1:2:bbbb::9")
    assert rate_limit_subject("2001:db8:1:3::1") != rate_limit_subject("2001:db8:1:2::1")
    assert rate_limit_subject("203.0.113.9") == "203.0.113.9"


def test_a_window_admits_its_limit_then_refuses_with_the_time_left(db):
    limit = Limit("t:window", 3, 3600)
    for _ in range(3):
        limits_take((limit, "a"))

    with pytest.raises(RateLimited) as caught:
        limits_take((limit, "a"))

    assert 1 <= caught.value.retry_after <= 3600
    limits_take((limit, "b"))  # another subject has its own budget


def test_a_cooldown_admits_one_then_waits_the_period(db):
    limit = Limit("t:cool", 1, 60, cooldown=True)
    limits_take((limit, "a"))

    with pytest.raises(RateLimited) as caught:
        limits_take((limit, "a"))

    assert 58 <= caught.value.retry_after <= 60


def test_a_refusal_gives_back_what_the_other_limits_took(db):
    roomy, tight = Limit("t:roomy", 2, 3600), Limit("t:tight", 1, 3600)
    limits_take((tight, "x"))

    for _ in range(3):
        with pytest.raises(RateLimited):
            limits_take((roomy, "x"), (tight, "x"))

    # The three refused calls did not eat into the roomy budget.
    limits_take((roomy, "x"))
    limits_take((roomy, "x"))
    with pytest.raises(RateLimited):
        limits_take((roomy, "x"))


def test_release_returns_the_units(db):
    limit, cool = Limit("t:rel", 1, 3600), Limit("t:relcool", 1, 60, cooldown=True)
    taken = limits_take((limit, "a"), (cool, "a"))

    taken.release()

    limits_take((limit, "a"), (cool, "a"))


def test_limits_can_be_switched_off(db, settings):
    settings.RATELIMIT_ENABLE = False
    limit = Limit("t:off", 1, 3600)

    for _ in range(5):
        limits_take((limit, "a"))


def test_a_broken_cache_refuses_cleanly(db, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "add", broken)

    with pytest.raises(Exception) as caught:
        limits_take((Limit("t:down", 5, 60), "a"))

    assert (caught.value.status, caught.value.code) == (503, "temporarily_unavailable")
