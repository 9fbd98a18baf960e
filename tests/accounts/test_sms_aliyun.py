"""The Aliyun SendSms adapter against a local stand-in that checks the RPC signature itself."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote

import httpx
import pytest

from mendian.accounts import sms
from mendian.accounts.models import SmsCode
from mendian.accounts.sms import aliyun_signature

PHONE = "13812345678"
KEY_ID = "LTAI-test-key"
SECRET = "test-secret-不要外传"


def verify_aliyun_signature(body: str, secret: str) -> tuple[bool, dict]:
    """Aliyun's published RPC v1 check, written independently of the adapter."""
    params = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
    signature = params.pop("Signature", "")

    def encode(value: str) -> str:
        return quote(value, safe="~")

    canonical = "&".join(f"{encode(key)}={encode(params[key])}" for key in sorted(params))
    string_to_sign = "POST&%2F&" + encode(canonical)
    expected = base64.b64encode(
        hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    return hmac.compare_digest(signature, expected), params


@pytest.fixture
def aliyun(stand_in, settings):
    settings.SMS_BACKEND = "aliyun"
    settings.SMS_ALIYUN = {
        "endpoint": stand_in.url + "/",
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "sign_name": "门店",
        "template_code": "SMS_123456",
    }

    def gateway(method, path, query, body):
        valid, params = verify_aliyun_signature(body, SECRET)
        if not valid:
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        return 200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5"}

    stand_in.respond = gateway
    return stand_in


def test_the_published_example_signature():
    # Aliyun's documentation example (AccessKeyId testId, secret testSecret, GET).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }

    assert aliyun_signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_a_code_goes_out_signed_and_then_signs_in(api, db, aliyun):
    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 204, response.content
    [request] = aliyun.requests
    assert request["method"] == "POST" and request["query"] == {}  # the phone stays out of the URL
    valid, params = verify_aliyun_signature(request["body"], SECRET)
    assert valid
    assert {
        key: params[key] for key in ("Action", "Version", "Format", "SignatureMethod", "SignatureVersion")
    } == {
        "Action": "SendSms",
        "Version": "2017-05-25",
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
    }
    assert (params["AccessKeyId"], params["PhoneNumbers"]) == (KEY_ID, PHONE)
    assert (params["SignName"], params["TemplateCode"]) == ("门店", "SMS_123456")
    assert params["SignatureNonce"]
    sent_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
    code = json.loads(params["TemplateParam"])["code"]
    assert len(code) == 6 and code.isdigit()
    assert SmsCode.objects.count() == 1

    login = api.post("/api/v1/auth/login", {"phone": PHONE, "code": code})

    assert login.status_code == 200


def test_every_request_has_its_own_nonce(api, db, aliyun):
    api.post("/api/v1/auth/sms-code", {"phone": "13900000001"})
    api.post("/api/v1/auth/sms-code", {"phone": "13900000002"})

    nonces = {verify_aliyun_signature(r["body"], SECRET)[1]["SignatureNonce"] for r in aliyun.requests}

    assert len(nonces) == 2


def test_a_gateway_error_is_502_and_leaves_nothing_behind(api, db, aliyun):
    aliyun.respond = lambda *args: (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})

    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 502
    assert response.json()["code"] == "sms_send_failed"
    assert SmsCode.objects.count() == 0
    # The failed send did not use up the one-a-minute allowance: a retry reaches the gateway.
    aliyun.respond = lambda *args: (200, {"Code": "OK"})
    assert api.post("/api/v1/auth/sms-code", {"phone": PHONE}).status_code == 204
    assert len(aliyun.requests) == 2
    assert SmsCode.objects.count() == 1


def test_a_wrong_secret_is_refused_by_the_gateway(api, db, aliyun, settings):
    settings.SMS_ALIYUN = {**settings.SMS_ALIYUN, "access_key_secret": "not-the-secret"}

    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 502
    assert SmsCode.objects.count() == 0
    assert verify_aliyun_signature(aliyun.requests[0]["body"], SECRET)[0] is False


def test_a_gateway_answer_that_is_not_json_is_502(api, db, aliyun):
    aliyun.respond = lambda *args: (500, b"<html>bad gateway</html>")

    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 502 and response.json()["code"] == "sms_send_failed"
    assert SmsCode.objects.count() == 0


def test_a_slow_gateway_times_out_as_502(api, db, aliyun, monkeypatch):
    monkeypatch.setattr(sms, "SMS_TIMEOUT", httpx.Timeout(0.2))

    def slow(*args):
        time.sleep(1)
        return 200, {"Code": "OK"}

    aliyun.respond = slow

    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 502
    assert SmsCode.objects.count() == 0


def test_an_unreachable_gateway_is_502(api, db, aliyun, settings):
    aliyun.close()

    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 502
    assert SmsCode.objects.count() == 0


def test_without_credentials_sms_is_503_not_configured(api, db, settings):
    settings.SMS_BACKEND = "aliyun"
    settings.SMS_ALIYUN = {
        "endpoint": "https://dysmsapi.aliyuncs.com/",
        "access_key_id": "",
        "access_key_secret": "",
    }

    response = api.post("/api/v1/auth/sms-code", {"phone": PHONE})

    assert response.status_code == 503
    assert response.json()["code"] == "sms_not_configured"
    assert SmsCode.objects.count() == 0
