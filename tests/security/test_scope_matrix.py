"""BOLA matrix (reliability item 17), generated from the OpenAPI documents.

Every consumer, staff and HQ operation with a `{param}` in its path is called by an attacker on a
real object that belongs to a victim: another merchant for HQ routes; another store of the same
merchant and another merchant for staff routes; another member for consumer routes. The reply must
be 403/404 (anonymous: 401) and the victim's rows must be unchanged. A path segment without a
builder in `world.Victim.BUILDERS` fails the matrix, so a new endpoint cannot slip by uncovered.
"""

import io

import pytest
from django.test.client import MULTIPART_CONTENT
from PIL import Image

from mendian.core.scope import Role
from tests.conftest import ApiClient
from tests.factories import CustomerFactory, StoreFactory
from tests.security import world

# Public by design: the consumer catalog is readable by anyone, for any store (store pages and
# product pages of the storefront and mini-program). Reviewed; keep this list short.
PUBLIC_CONSUMER_PREFIXES = ("/api/v1/stores/{store_id}",)

# Paths whose `{param}` names no object of anyone's. Reviewed; keep this list short.
NOT_OBJECT_ROUTES = {
    # {provider} is a payment provider's name; the callback is authenticated by the provider's
    # signature (payments' own tests), not by a member's token.
    ("consumer", "/api/v1/payments/notify/{provider}"),
}


def _targets(api_name: str) -> list[tuple[str, str, dict]]:
    found = []
    for method, path, op in world.operations(api_name):
        if not world.path_params(path):
            continue
        if api_name == "consumer" and path.startswith(PUBLIC_CONSUMER_PREFIXES):
            continue
        if (api_name, path) in NOT_OBJECT_ROUTES:
            continue
        found.append((method, path, op))
    return found


CASES = []
for _api, _attackers, _victims in (
    ("hq", ("hq_admin", "anonymous"), ("other_merchant",)),
    ("staff", ("clerk", "manager", "anonymous"), ("other_store", "other_merchant")),
    ("consumer", ("member", "anonymous"), ("other_member",)),
):
    for _method, _path, _op in _targets(_api):
        for _attacker in _attackers:
            for _victim in _victims:
                CASES.append(
                    pytest.param(
                        _api,
                        _method,
                        _path,
                        _op,
                        _attacker,
                        _victim,
                        id=f"{_api}:{_method} {_path}:{_attacker}->{_victim}",
                    )
                )


def test_every_api_has_object_routes_in_the_matrix():
    apis = {case.values[0] for case in CASES}
    assert apis == {"hq", "staff", "consumer"}


def test_every_object_segment_has_a_builder():
    missing = sorted(
        {
            f"add a builder for segment {segment!r} (param {{{param}}}) used by {api} {method} {path}"
            for api in ("hq", "staff", "consumer")
            for method, path, _op in _targets(api)
            for segment, param in world.path_params(path)
            if segment not in world.Victim.BUILDERS
        }
    )
    assert not missing, "\n".join(missing)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _multipart_body(op: dict, api_name: str) -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" not in content:
        return None
    from django.core.files.uploadedfile import SimpleUploadedFile

    schema = world.resolve(content["multipart/form-data"]["schema"], world.schema_components(api_name))
    body = {}
    for key, prop in schema.get("properties", {}).items():
        prop = world.resolve(prop, world.schema_components(api_name))
        if prop.get("format") == "binary" or prop.get("type") == "string":
            body[key] = SimpleUploadedFile("x.png", _png(), content_type="image/png")
    return body


@pytest.fixture
def attackers(merchant, store, other_merchant):
    return {
        "anonymous": lambda: ApiClient(),
        "hq_admin": lambda: world.staff_client(role=Role.MERCHANT_ADMIN, merchant=merchant, store=None),
        "clerk": lambda: world.staff_client(role=Role.STORE_CLERK, store=store),
        "manager": lambda: world.staff_client(role=Role.STORE_MANAGER, store=store),
        "member": lambda: world.member_client(),
    }


@pytest.fixture
def victims(merchant, store, other_store, other_merchant):
    return {
        "other_merchant": lambda: world.Victim(StoreFactory(merchant=other_merchant, name="对手门店")),
        "other_store": lambda: world.Victim(other_store),
        "other_member": lambda: world.Victim(store, customer=CustomerFactory()),
    }


@pytest.mark.parametrize(("api_name", "method", "path", "op", "attacker", "victim_kind"), CASES)
def test_object_outside_scope_is_not_reachable(
    api_name, method, path, op, attacker, victim_kind, attackers, victims, refunds_stub
):
    missing = [seg for seg, _ in world.path_params(path) if seg not in world.Victim.BUILDERS]
    if missing:
        pytest.fail(f"add a builder for {missing} ({api_name} {method} {path})")
    victim = victims[victim_kind]()
    url = path
    objects = []
    for segment, param in world.path_params(path):
        value, obj = victim.build(segment)
        url = url.replace("{" + param + "}", value)
        objects.append(obj)
    before = [world.snapshot(obj) for obj in objects]
    client = attackers[attacker]()
    multipart = _multipart_body(op, api_name)
    if multipart is not None:
        response = client.post(url, multipart, content_type=MULTIPART_CONTENT)
    else:
        response = world.call(client, method, url, world.body_for(api_name, op, path))
    expected = {401} if attacker == "anonymous" else {403, 404}
    assert response.status_code in expected, (
        f"{attacker} {method} {url} on {victim_kind}'s object: {response.status_code} {response.content[:500]!r}"
    )
    after = [world.snapshot(obj) for obj in objects]
    assert after == before, f"{attacker} {method} {url} changed {victim_kind}'s rows"
