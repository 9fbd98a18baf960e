from django.urls import path

from mendian.web.hq_console.views import auth, catalog, integrations, orders, payments, staff, stock, stores

app_name = "hq"

urlpatterns = [
    path("login/", auth.hq_login, name="login"),
    path("logout/", auth.hq_logout, name="logout"),
    path("mfa/", auth.mfa_enrol, name="mfa"),
    path("profile/", auth.profile, name="profile"),
    path("", stores.dashboard, name="dashboard"),
    path("stores/", stores.store_list, name="stores"),
    path("stores/new/", stores.store_create_view, name="store_create"),
    path("stores/<str:store_id>/", stores.store_edit, name="store_edit"),
    path("stores/<str:store_id>/special-days/", stores.store_special_day_add, name="store_special_day_add"),
    path(
        "stores/<str:store_id>/special-days/delete/",
        stores.store_special_day_delete,
        name="store_special_day_delete",
    ),
    path("stores/<str:store_id>/photos/", stores.store_photo_upload, name="store_photo_upload"),
    path(
        "stores/<str:store_id>/photos/<str:photo_id>/delete/",
        stores.store_photo_remove,
        name="store_photo_delete",
    ),
    path("categories/", catalog.categories, name="categories"),
    path("categories/new/", catalog.category_create_view, name="category_create"),
    path("categories/<str:category_id>/", catalog.category_edit, name="category_edit"),
    path("categories/<str:category_id>/delete/", catalog.category_remove, name="category_delete"),
    path("products/", catalog.product_list, name="products"),
    path("products/new/", catalog.product_create_view, name="product_create"),
    path("products/<str:product_id>/", catalog.product_edit, name="product_edit"),
    path("products/<str:product_id>/images/", catalog.product_images_upload, name="product_images"),
    path(
        "products/<str:product_id>/images/<int:image_id>/delete/",
        catalog.product_image_delete,
        name="product_image_delete",
    ),
    path("listings/", catalog.listings, name="listings"),
    path("staff/", staff.staff_list, name="staff"),
    path("staff/new/", staff.staff_create_view, name="staff_create"),
    path("staff/<str:staff_id>/", staff.staff_edit, name="staff_edit"),
    path("staff/<str:staff_id>/password/", staff.staff_password, name="staff_password"),
    path("merchants/", staff.merchant_list, name="merchants"),
    # Operations: orders, stock, restock, integrations, payment settings.
    path("orders/", orders.order_list, name="orders"),
    path("orders/export.csv", orders.order_export, name="orders_export"),
    path("orders/<str:order_id>/", orders.order_detail, name="order_detail"),
    path("stock/", stock.stock_matrix, name="stock"),
    path("restock/", stock.restock_list, name="restock"),
    path("restock/<str:request_id>/approve/", stock.restock_approve, name="restock_approve"),
    path("restock/<str:request_id>/reject/", stock.restock_reject, name="restock_reject"),
    path("integrations/api-keys/", integrations.api_keys, name="api_keys"),
    path(
        "integrations/api-keys/<str:api_key_id>/revoke/",
        integrations.api_key_revoke_view,
        name="api_key_revoke",
    ),
    path("integrations/webhooks/", integrations.webhooks, name="webhooks"),
    path("integrations/webhooks/<str:endpoint_id>/", integrations.webhook_detail, name="webhook_detail"),
    path(
        "integrations/webhooks/<str:endpoint_id>/toggle/", integrations.webhook_toggle, name="webhook_toggle"
    ),
    path(
        "integrations/webhooks/<str:endpoint_id>/rotate/", integrations.webhook_rotate, name="webhook_rotate"
    ),
    path(
        "integrations/deliveries/<str:delivery_id>/replay/",
        integrations.delivery_replay,
        name="delivery_replay",
    ),
    path("payments/", payments.payment_settings, name="payments"),
    path("payments/<str:provider>/", payments.payment_provider_edit, name="payment_provider"),
]
