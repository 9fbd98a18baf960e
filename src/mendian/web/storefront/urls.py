from django.urls import path

from mendian.web.storefront import addresses, buying, orders, views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/<str:store_id>/", views.store_page, name="store"),
    path("stores/<str:store_id>/products/<str:product_id>/", views.product_page, name="product"),
    path("categories/", views.categories, name="categories"),
    path("search/", views.search, name="search"),
    path("cart/", buying.cart, name="cart"),
    path("cart/add/", buying.cart_add, name="cart_add"),
    path("cart/set/", buying.cart_set, name="cart_set"),
    path("cart/switch/", buying.cart_switch, name="cart_switch"),
    path("checkout/", buying.checkout, name="checkout"),
    path("checkout/address/", addresses.address_new, name="address_new"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<str:order_id>/", orders.order_detail, name="order"),
    path("orders/<str:order_id>/pay/", orders.order_pay, name="order_pay"),
    path("orders/<str:order_id>/cancel/", orders.order_cancel, name="order_cancel"),
    path("orders/<str:order_id>/confirm/", orders.order_confirm, name="order_confirm"),
    path("orders/<str:order_id>/refund/", orders.refund_new, name="refund_new"),
    path("me/", views.me, name="me"),
    path("me/sign-out/", views.sign_out, name="sign_out"),
    path("me/addresses/", addresses.address_book, name="addresses"),
    path("me/addresses/<str:address_id>/", addresses.address_edit, name="address_edit"),
    path("me/addresses/<str:address_id>/delete/", addresses.address_remove, name="address_delete"),
    path("me/addresses/<str:address_id>/default/", addresses.address_make_default, name="address_default"),
    path("ui/large-font", views.large_font, name="large_font"),
]
