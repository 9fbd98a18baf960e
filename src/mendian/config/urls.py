import os

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve as serve_media

from mendian.catalog import api as catalog_api
from mendian.config.api import consumer_api, hq_api, open_api, staff_api
from mendian.core import views as core_views
from mendian.payments import views as payment_views

# Django tries these in order; the storefront API, the busiest by far, goes first. No two
# prefixes overlap, so the order changes nothing that resolves.
urlpatterns = [
    # The storefront's hottest request, straight to its handler (see the view's docstring).
    path("api/v1/stores/<str:store_id>/products", catalog_api.store_products_direct, name="store-products"),
    path("api/v1/", consumer_api.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("sandbox-pay/<str:payment_id>/confirm", payment_views.sandbox_confirm, name="sandbox-pay-confirm"),
    path("api/staff/v1/", staff_api.urls),
    path("api/hq/v1/", hq_api.urls),
    path("api/open/v1/", open_api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    re_path(r"^media/(?P<path>.*)$", serve_media, {"document_root": settings.MEDIA_ROOT}),
    path("", include("mendian.web.urls")),
]

if os.environ.get("MENDIAN_BENCH") == "1":
    urlpatterns.insert(0, path("", include("mendian.core.bench_views")))

handler404 = "mendian.core.views.not_found"
handler500 = "mendian.core.views.server_error"
