from django.urls import path

from mendian.web.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/<str:store_id>/", views.store_page, name="store"),
    path("stores/<str:store_id>/products/<str:product_id>/", views.product_page, name="product"),
    path("categories/", views.categories, name="categories"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart, name="cart"),
    path("me/", views.me, name="me"),
    path("me/sign-out/", views.sign_out, name="sign_out"),
    path("ui/large-font", views.large_font, name="large_font"),
]
