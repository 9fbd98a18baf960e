from django.conf import settings


def ui(request):
    return {
        "large_font": request.COOKIES.get("mendian_large_font") == "1",
        "sandbox": settings.SANDBOX,
    }
