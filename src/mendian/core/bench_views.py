"""The benchmarks' baseline: a minimal Django view on the same server, settings and middleware.

Mounted only when MENDIAN_BENCH=1 (see config/urls.py); every figure in bench/ is compared with it,
measured in the same run, so the cost of the server and the middleware is known. The baseline is
`/api/v1/bench/ping`: under the storefront API's prefix it runs the middleware the benchmarked API
endpoints run (BrowserOnlyMiddleware skips the browser-only part there). `/bench/ping` is the same
view through the whole browser chain, as pages get it.
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET


@require_GET
def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("api/v1/bench/ping", ping, name="bench-api-ping"),
    path("bench/ping", ping, name="bench-ping"),
]
