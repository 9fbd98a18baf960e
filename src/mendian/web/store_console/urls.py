from django.urls import path

from mendian.web.hq_console.views import auth
from mendian.web.store_console import orders, stock, views

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
    # Orders: the live queue, an order, its actions; pickup codes; refunds.
    path("orders/", orders.queue, name="orders"),
    path("orders/poll/", orders.queue_poll, name="orders_poll"),
    path("orders/badge/", orders.queue_badge, name="orders_badge"),
    path("orders/<str:order_id>/", orders.order_detail, name="order"),
    path(
        "orders/<str:order_id>/<str:action>/",
        orders.order_action,
        name="order_action",
    ),
    path("pickup/", orders.pickup, name="pickup"),
    path("refunds/", orders.refunds, name="refunds"),
    path("refunds/<str:request_id>/<str:decision>/", orders.refund_decide, name="refund_decide"),
    # Stock.
    path("stock/", stock.stock, name="stock"),
    path("stock/adjust/", stock.stock_adjust_view, name="stock_adjust"),
    path("stock/threshold/", stock.stock_threshold_view, name="stock_threshold"),
    path("stocktakes/", stock.stocktakes, name="stocktakes"),
    path("stocktakes/new/", stock.stocktake_new, name="stocktake_new"),
    path("stocktakes/<str:stocktake_id>/", stock.stocktake, name="stocktake"),
    path("stocktakes/<str:stocktake_id>/save/", stock.stocktake_save, name="stocktake_save"),
    path("transfers/", stock.transfers, name="transfers"),
    path("transfers/new/", stock.transfer_new, name="transfer_new"),
    path("transfers/<str:transfer_id>/<str:action>/", stock.transfer_action, name="transfer_action"),
    path("restock/", stock.restock, name="restock"),
    path("restock/new/", stock.restock_new, name="restock_new"),
    path("restock/<str:request_id>/receive/", stock.restock_receive, name="restock_receive"),
]
