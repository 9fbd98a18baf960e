import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from mendian.core.errors import problem_response
from mendian.core.tasks import HEARTBEAT_KEY

logger = logging.getLogger("mendian.health")


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        logger.exception("readiness: database")
        checks["database"] = "error"
    if settings.REDIS_URL:
        try:
            cache.set("mendian:readyz", "1", 5)
            checks["redis"] = "ok" if cache.get("mendian:readyz") == "1" else "error"
        except Exception:
            logger.exception("readiness: redis")
            checks["redis"] = "error"
    ok = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    # Informational: the worker's last heartbeat (seen from here only through a shared cache).
    last_beat = cache.get(HEARTBEAT_KEY)
    body["worker_heartbeat_age_s"] = round(time.time() - last_beat, 1) if last_beat else None
    return JsonResponse(body, status=200 if ok else 503)


def _wants_problem(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def not_found(request, exception=None):
    if _wants_problem(request):
        return problem_response(404, "not_found", "No such resource.")
    return render(request, "errors/404.html", status=404)


def server_error(request):
    if _wants_problem(request):
        return problem_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
    try:
        return render(request, "errors/500.html", status=500)
    except Exception:
        return HttpResponse(
            "服务暂时不可用 / Service unavailable", status=500, content_type="text/plain; charset=utf-8"
        )
