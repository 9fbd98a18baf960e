"""Me: sign in by phone and SMS code, the signed-in view, sign out, language and large font."""

import re

import pytest
from django.test import Client

from mendian.accounts.models import SandboxSms
from mendian.core.pii import blind_index
from mendian.members.models import MemberLevel, Membership
from tests.factories import CustomerFactory
from tests.web.storefront.conftest import text_of

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def sandbox_code(phone: str) -> str:
    return SandboxSms.objects.filter(phone_hash=blind_index(phone)).order_by("-id").first().code


def sign_in(client: Client, phone: str = PHONE):
    client.post("/me/", {"action": "send", "phone": phone})
    return client.post("/me/", {"action": "login", "phone": phone, "code": sandbox_code(phone)})


def test_signed_out_me_offers_sms_sign_in_with_the_sandbox_hint(chain):
    html = text_of(Client().get("/me/"))

    assert "手机号登录" in html
    assert 'name="phone"' in html and 'name="code"' in html
    assert "获取验证码" in html
    assert "/api/v1/dev/sms-outbox" in html


def test_sending_a_code_keeps_the_phone_and_starts_a_countdown(chain):
    response = Client().post("/me/", {"action": "send", "phone": "138 1234 5678"})

    html = text_of(response)
    assert response.status_code == 200
    assert "验证码已发送，5 分钟内有效" in html
    assert 'value="138 1234 5678"' in html
    assert 'data-countdown="60"' in html
    assert len(sandbox_code(PHONE)) == 6


def test_signing_in_stores_the_customer_and_shows_the_masked_phone(chain):
    client = Client()

    response = sign_in(client)

    assert response.status_code == 302 and response["Location"] == "/me/"
    customer_id = client.session["customer_id"]
    html = text_of(client.get("/me/"))
    assert '<div class="phone" data-phone>138****5678</div>' in html
    assert PHONE not in html
    assert "普通会员" in html
    assert "退出登录" in html
    assert customer_id > 0


def test_level_is_the_membership_of_the_chosen_brand(chain):
    customer = CustomerFactory(phone=PHONE, phone_hash=blind_index(PHONE))
    Membership.objects.create(customer=customer, merchant=chain.merchant, level=MemberLevel.GOLD)
    client = Client()
    sign_in(client)
    client.cookies["mendian_merchant"] = "xianlin"

    html = text_of(client.get("/me/"))

    assert "金卡会员" in html and "鲜邻便利" in html


def test_sign_out_forgets_the_customer(chain):
    client = Client()
    sign_in(client)

    response = client.post("/me/sign-out/")

    assert response.status_code == 302
    assert "customer_id" not in client.session
    assert "手机号登录" in text_of(client.get("/me/"))


def test_sign_out_needs_a_post(chain):
    assert Client().get("/me/sign-out/").status_code == 405


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "send", "phone": "12345"}, "请输入正确的手机号"),
        ({"action": "login", "phone": "abc", "code": "123456"}, "请输入正确的手机号"),
        ({"action": "login", "phone": PHONE, "code": "000000"}, "验证码错误或已过期"),
    ],
)
def test_bad_sign_in_input_is_a_form_error(chain, data, message):
    response = Client().post("/me/", data)

    assert response.status_code == 400
    assert message in text_of(response)


def test_a_second_code_within_a_minute_is_refused_politely(chain):
    client = Client()
    client.post("/me/", {"action": "send", "phone": PHONE})

    response = client.post("/me/", {"action": "send", "phone": PHONE})

    assert response.status_code == 400
    assert "发送太频繁，请稍后再试" in text_of(response)


def test_a_deleted_customer_in_the_session_is_signed_out(chain):
    client = Client()
    sign_in(client)
    from mendian.accounts.models import Customer

    Customer.objects.filter(pk=client.session["customer_id"]).update(is_active=False)

    html = text_of(client.get("/me/"))

    assert "手机号登录" in html


def test_language_switch_posts_to_set_language(chain):
    client = Client()
    html = text_of(client.get("/me/"))
    assert 'action="/i18n/setlang/"' in html
    assert re.search(r'name="language" value="en"', html)

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})

    assert response.status_code == 302 and response["Location"] == "/me/"
    assert '<html lang="en"' in text_of(client.get("/me/"))


def test_large_font_toggle_sets_the_cookie_and_the_page_class(chain):
    client = Client()
    assert 'class=""' in text_of(client.get("/me/")).split("<head>")[0]

    response = client.post("/ui/large-font", {"on": "1", "next": "/stores/1/"})

    assert response.status_code == 302 and response["Location"] == "/stores/1/"
    assert response.cookies["mendian_large_font"].value == "1"
    html = text_of(client.get("/me/"))
    assert '<html lang="zh-hans" class="large-font">' in html
    assert 'role="switch" aria-checked="true"' in html

    response = client.post("/ui/large-font", {"on": "0"})
    assert response.cookies["mendian_large_font"].value == ""
    assert response["Location"] == "/me/"


def test_large_font_refuses_offsite_redirects_and_gets(chain):
    response = Client().post("/ui/large-font", {"on": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/me/"
    assert Client().get("/ui/large-font").status_code == 405


def test_me_queries_are_bounded(chain, django_assert_max_num_queries):
    client = Client()
    sign_in(client)
    with django_assert_max_num_queries(6):
        assert client.get("/me/").status_code == 200
