from django.urls import path

from mendian.web.hq_console.views import auth
from mendian.web.store_console import views

app_name = "store"

urlpatterns = [
    path("login/", auth.store_login, name="login"),
    path("logout/", auth.store_logout, name="logout"),
    path("pick/", views.pick_store, name="pick"),
    path("", views.dashboard, name="dashboard"),
    path("profile/", views.profile, name="profile"),
    path("profile/status/", views.store_status, name="status"),
    path("profile/hours/", views.store_hours, name="hours"),
    path("profile/special-days/", views.special_day_add, name="special_day_add"),
    path("profile/special-days/delete/", views.special_day_remove, name="special_day_delete"),
    path("products/", views.products, name="products"),
    path("products/<str:product_id>/listing/", views.product_listing, name="product_listing"),
]
