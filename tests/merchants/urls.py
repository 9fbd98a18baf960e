"""The real URLs plus the merchants HQ router under /api/hq/v1/ (see conftest.py for when)."""

from django.urls import path

from mendian.accounts.auth import HqAuth
from mendian.config.api import build_api
from mendian.config.urls import urlpatterns as real_urlpatterns
from mendian.merchants import api as merchants_api

merchants_hq_api = build_api(
    title="Mendian HQ API (merchants, tests)",
    version="test",
    urls_namespace="api-hq-v1-merchants-test",
    description="",
    auth=HqAuth(),
)
merchants_hq_api.add_router("", merchants_api.hq)

urlpatterns = [path("api/hq/v1/", merchants_hq_api.urls), *real_urlpatterns]
