"""The benchmarks' baseline: a minimal Django view on the same server, settings and middleware.

Mounted only when MENDIAN_BENCH=1 (see config/urls.py); every figure in bench/ is compared with it,
measured in the same run, so the cost of the server and the middleware is known.
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET


@require_GET
def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/ping", ping, name="bench-ping")]
