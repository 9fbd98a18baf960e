"""Function-level access (reliability item 19), generated from the OpenAPI documents: store staff
get 403 on every HQ operation, nobody gets anything anonymously, and every open-API operation asks
for a signature."""

import re

import pytest

from mendian.core.scope import Role
from tests.conftest import ApiClient
from tests.security import world

SAMPLE_PARAM = {"date": "2030-01-01"}


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAM.get(m.group(1), "1"), path)


def _ops(api_name: str, secured_only: bool = False):
    return [
        pytest.param(method, path, op, id=f"{method} {path}")
        for method, path, op in world.operations(api_name)
        if not secured_only or op.get("security")
    ]


def _assert_code(response, status: int, code: str, who: str, method: str, path: str):
    assert response.status_code == status, (
        f"{who} {method} {path}: {response.status_code} {response.content[:300]!r}"
    )
    assert response.json().get("code") == code, f"{who} {method} {path}: {response.content[:300]!r}"


@pytest.mark.parametrize(("method", "path", "op"), _ops("hq"))
@pytest.mark.parametrize("role", [Role.STORE_CLERK, Role.STORE_MANAGER])
def test_hq_operations_forbid_store_staff(method, path, op, role, store):
    client = world.staff_client(role=role, store=store)
    response = world.call(client, method, _url(path), world.body_for("hq", op, path))
    _assert_code(response, 403, "forbidden", role, method, path)


@pytest.mark.parametrize(("method", "path", "op"), _ops("hq"))
def test_hq_operations_need_a_token(method, path, op, db):
    response = world.call(ApiClient(), method, _url(path), world.body_for("hq", op, path))
    _assert_code(response, 401, "unauthorized", "anonymous", method, path)


@pytest.mark.parametrize(("method", "path", "op"), _ops("staff", secured_only=True))
def test_staff_operations_need_a_token(method, path, op, db):
    response = world.call(ApiClient(), method, _url(path), world.body_for("staff", op, path))
    _assert_code(response, 401, "unauthorized", "anonymous", method, path)


@pytest.mark.parametrize(("method", "path", "op"), _ops("consumer", secured_only=True))
def test_consumer_member_operations_need_a_token(method, path, op, db):
    response = world.call(ApiClient(), method, _url(path), world.body_for("consumer", op, path))
    _assert_code(response, 401, "unauthorized", "anonymous", method, path)


def test_only_login_is_open_on_the_staff_api():
    open_ops = [(m, p) for m, p, op in world.operations("staff") if not op.get("security")]
    assert open_ops == [("POST", "/api/staff/v1/auth/login")]


def test_every_hq_operation_is_secured():
    assert [(m, p) for m, p, op in world.operations("hq") if not op.get("security")] == []


@pytest.mark.parametrize(("method", "path", "op"), _ops("open"))
def test_open_api_operations_need_a_signature(method, path, op, db):
    body = world.body_for("open", op, path)
    response = world.call(ApiClient(), method, _url(path), body)
    _assert_code(response, 401, "invalid_signature", "unsigned", method, path)


@pytest.mark.parametrize(("method", "path", "op"), _ops("open"))
def test_open_api_refuses_staff_and_member_tokens(method, path, op, hq_api, member_api):
    for client in (hq_api, member_api):
        response = world.call(client, method, _url(path), world.body_for("open", op, path))
        _assert_code(response, 401, "invalid_signature", "bearer token", method, path)
