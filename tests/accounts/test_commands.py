"""The CLI: createstaff and member-token (createmerchant belongs to the merchants app)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mendian.accounts.models import AuthToken, Customer, Staff
from mendian.core.pii import blind_index
from tests.conftest import ApiClient


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createstaff_makes_a_platform_admin_who_can_sign_in(db):
    output = _run(
        "createstaff", "--username", "root", "--password", "Lantern-Otter-42", "--role", "platform_admin"
    )

    staff = Staff.objects.get(username="root")
    assert "root" in output and staff.role == "platform_admin" and staff.merchant_id is None
    login = ApiClient().post("/api/staff/v1/auth/login", {"username": "root", "password": "Lantern-Otter-42"})
    assert login.status_code == 200


def test_createstaff_places_store_staff_by_codes(store, other_merchant):
    from tests.factories import StoreFactory

    StoreFactory(merchant=other_merchant, code=store.code)  # the same store code at another brand

    _run(
        "createstaff",
        "--username",
        "hqadmin",
        "--password",
        "Lantern-Otter-42",
        "--role",
        "merchant_admin",
        "--merchant",
        "acme",
    )
    _run(
        "createstaff",
        "--username",
        "clerk1",
        "--password",
        "Lantern-Otter-42",
        "--role",
        "store_clerk",
        "--merchant",
        "acme",
        "--store",
        store.code,
    )

    assert Staff.objects.get(username="hqadmin").merchant_id == store.merchant_id
    clerk = Staff.objects.get(username="clerk1")
    assert (clerk.merchant_id, clerk.store_id) == (store.merchant_id, store.pk)
    with pytest.raises(CommandError, match="--merchant"):
        _run(
            "createstaff",
            "--username",
            "clerk2",
            "--password",
            "Lantern-Otter-42",
            "--role",
            "store_clerk",
            "--store",
            store.code,
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "store_clerk"], "store_required"),
        (["--role", "merchant_admin"], "merchant_required"),
        (["--role", "merchant_admin", "--merchant", "nope"], "No merchant"),
        (["--role", "store_clerk", "--merchant", "acme", "--store", "nope"], "No store"),
        (["--role", "platform_admin", "--password", "123"], "weak_password"),
    ],
)
def test_createstaff_explains_bad_input_and_creates_nothing(merchant, args, message):
    base = ["createstaff", "--username", "someone", "--password", "Lantern-Otter-42"]

    with pytest.raises(CommandError, match=message):
        _run(*base, *args)

    assert not Staff.objects.filter(username="someone").exists()


def test_createstaff_refuses_an_existing_username(db):
    args = ["createstaff", "--username", "root", "--password", "Lantern-Otter-42", "--role", "platform_admin"]
    _run(*args)

    with pytest.raises(CommandError, match="username_taken"):
        _run(*args)

    assert Staff.objects.filter(username="root").count() == 1


def test_createstaff_rejects_an_unknown_role(db):
    with pytest.raises(CommandError):
        _run("createstaff", "--username", "x1", "--password", "Lantern-Otter-42", "--role", "ceo")


def test_member_token_prints_one_line_per_phone_and_creates_members_once(db):
    output = _run("member_token", "--phone", "+86 138 1234 5678", "--phone", "13900000001")
    again = _run("member_token", "--phone", "13812345678")

    lines = [line.split(" ") for line in output.strip().splitlines()]
    assert [phone for phone, _ in lines] == ["13812345678", "13900000001"]
    assert Customer.objects.count() == 2
    assert Customer.objects.get(phone_hash=blind_index("13812345678")).phone == "13812345678"
    for phone, token in lines + [again.split()]:
        me = ApiClient(token).get("/api/v1/me")
        assert me.status_code == 200 and me.json()["phone_masked"] == phone[:3] + "****" + phone[-4:]


def test_member_token_refuses_a_bad_phone_before_creating_anyone(db):
    with pytest.raises(CommandError, match="not a mainland China mobile number"):
        _run("member_token", "--phone", "13900000001", "--phone", "12345")

    assert Customer.objects.count() == 0 and AuthToken.objects.count() == 0


@pytest.mark.once
def test_the_mendian_cli_runs_member_token_with_a_hyphen(db, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MENDIAN_DATA_DIR": str(tmp_path), "MENDIAN_SANDBOX": "1"}
    env.pop("DATABASE_URL", None)
    bin_dir = os.path.dirname(sys.executable)
    subprocess.run([os.path.join(bin_dir, "mendian"), "migrate", "-v", "0"], env=env, check=True)

    result = subprocess.run(
        [os.path.join(bin_dir, "mendian"), "member-token", "--phone", "13812345678"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    phone, token = result.stdout.strip().split(" ")
    assert phone == "13812345678" and token.startswith("mda_")
    failed = subprocess.run(
        [os.path.join(bin_dir, "mendian"), "member-token", "--phone", "123"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and "not a mainland China mobile number" in failed.stderr
