"""One NinjaAPI per audience, each with its own OpenAPI document and problem+json errors."""

import logging

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from mendian.core.errors import DomainError, domain_error_response, problem_response

logger = logging.getLogger("mendian.api")


def _loc(loc) -> list:
    return [part for part in loc]


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def on_domain_error(request, exc: DomainError):
        return domain_error_response(exc)

    @api.exception_handler(ValidationError)
    def on_validation_error(request, exc: ValidationError):
        errors = [{"loc": _loc(err.get("loc", [])), "msg": str(err.get("msg", ""))} for err in exc.errors]
        return problem_response(422, "validation_error", "The request is not valid.", errors=errors)

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request, exc):
        return problem_response(401, "unauthorized", "A valid access token is required.")

    @api.exception_handler(AuthorizationError)
    def on_authz_error(request, exc):
        return problem_response(403, "forbidden", "Your role does not allow this action.")

    @api.exception_handler(Http404)
    def on_404(request, exc):
        return problem_response(404, "not_found", "No such object.")

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        codes = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "payload_too_large",
            415: "unsupported_media_type",
            429: "rate_limited",
        }
        if exc.status_code == 400 and "parse" in str(exc).lower():
            return problem_response(400, "invalid_json", "The request body is not valid JSON.")
        return problem_response(exc.status_code, codes.get(exc.status_code, "error"), str(exc))

    @api.exception_handler(Exception)
    def on_unexpected(request, exc):
        logger.exception("unhandled API error on %s", request.path)
        return problem_response(500, "internal_error", "An unexpected error occurred; it has been logged.")


def build_api(*, title: str, version: str, urls_namespace: str, description: str, auth=None) -> NinjaAPI:
    api = NinjaAPI(
        title=title,
        version=version,
        description=description,
        urls_namespace=urls_namespace,
        auth=auth,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_error_handlers(api)
    return api


def _mount_all():
    from mendian.accounts.auth import HqAuth, StaffAuth
    from mendian.integrations.auth import SignedRequestAuth

    consumer = build_api(
        title="Mendian consumer API",
        version="1",
        urls_namespace="api-v1",
        description="Storefront and mini-program API: stores, catalog, cart, orders, membership.",
    )
    staff = build_api(
        title="Mendian staff API",
        version="1",
        urls_namespace="api-staff-v1",
        description="Store staff: order fulfilment, pickups, stock.",
        auth=StaffAuth(),
    )
    hq = build_api(
        title="Mendian HQ API",
        version="1",
        urls_namespace="api-hq-v1",
        description="Headquarters: stores, catalog, prices, staff, keys and reports.",
        auth=HqAuth(),
    )
    open_api = build_api(
        title="Mendian open API",
        version="1",
        urls_namespace="api-open-v1",
        description="POS / ERP integration, signed with HMAC-SHA256.",
        auth=SignedRequestAuth(),
    )

    from mendian.accounts import api as accounts_api
    from mendian.catalog import api as catalog_api
    from mendian.checkout import api as checkout_api
    from mendian.integrations import api as integrations_api
    from mendian.inventory import api as inventory_api
    from mendian.merchants import api as merchants_api
    from mendian.orders import api as orders_api
    from mendian.payments import api as payments_api
    from mendian.stores import api as stores_api

    # Django tries URL patterns in order: the storefront's busiest requests (browsing, ordering,
    # paying) come first. No two of these routers' paths can match the same URL.
    consumer.add_router("", catalog_api.consumer)
    consumer.add_router("", orders_api.consumer)
    consumer.add_router("", payments_api.consumer)
    consumer.add_router("", checkout_api.consumer)
    consumer.add_router("", stores_api.consumer)
    consumer.add_router("", accounts_api.consumer)
    consumer.add_router("", merchants_api.consumer)
    staff.add_router("", accounts_api.staff)
    staff.add_router("", stores_api.staff)
    staff.add_router("", catalog_api.staff)
    staff.add_router("", inventory_api.staff)
    staff.add_router("", orders_api.staff)
    hq.add_router("", stores_api.hq)
    hq.add_router("", merchants_api.hq)
    hq.add_router("", catalog_api.hq)
    hq.add_router("", inventory_api.hq)
    hq.add_router("", orders_api.hq)
    hq.add_router("", accounts_api.hq)
    hq.add_router("", integrations_api.hq)
    hq.add_router("", payments_api.hq)
    open_api.add_router("", integrations_api.open)
    return consumer, staff, hq, open_api


consumer_api, staff_api, hq_api, open_api = _mount_all()
