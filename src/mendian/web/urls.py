from django.urls import include, path

urlpatterns = [
    path("hq/", include("mendian.web.hq_console.urls")),
    path("store/", include("mendian.web.store_console.urls")),
    path("", include("mendian.web.storefront.urls")),
]
