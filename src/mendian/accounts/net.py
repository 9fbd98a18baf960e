"""The client's address, for per-IP limits: the TCP peer, unless that peer is a proxy we trust."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted_networks(entries: frozenset[str]) -> tuple[_Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"MENDIAN_TRUSTED_PROXIES holds something that is not an address: {exc}"
        ) from exc


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks: tuple[_Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """The address of the last hop we cannot vouch for.

    `X-Forwarded-For` is believed only as far as the chain of trusted proxies (settings.TRUSTED_PROXIES,
    addresses or networks) reaches: each trusted hop appends the address it saw, so we walk the list from
    the right and stop at the first address that is not one of ours. A client can write anything on the
    left of the header; it cannot forge what our own proxies appended.
    """
    peer = _parse(request.META.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return "0.0.0.0"  # noqa: S104 - unix-socket peers have no address; they share one bucket
    networks = _trusted_networks(frozenset(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in (part.strip() for part in forwarded.split(",")) if hop]
    nearest = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # A trusted proxy passed on garbage: the best we know is that proxy's own peer.
            return str(nearest)
        if not _is_trusted(address, networks):
            return str(address)
        nearest = address
    return str(nearest)


def rate_limit_subject(ip: str) -> str:
    """IPv6 clients get a /64 each, so they cannot dodge a per-IP limit by rotating their suffix."""
    address = _parse(ip)
    if address is None:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address) + "/64"
    return str(address)
