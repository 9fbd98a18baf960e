"""HQ: categories, products (variants and photos) and each store's listings and prices."""

import base64

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.catalog.selectors import (
    category_get_for_actor,
    category_tree_for_actor,
    product_get_for_actor,
    product_read,
    products_for_actor,
    store_catalog_for_actor,
)
from mendian.catalog.services import (
    MAX_IMAGES,
    category_create,
    category_delete,
    category_update,
    product_create,
    product_image_add,
    product_image_remove,
    product_update,
    store_listings_apply,
    store_prices_apply,
)
from mendian.core.errors import DomainError, NotFound
from mendian.stores.selectors import store_get_for_actor
from mendian.web.auth import hq_view
from mendian.web.hq_console.common import (
    add_domain_error,
    cursor_param,
    error_message,
    message_domain_error,
    page_links,
    styled,
    yuan,
)
from mendian.web.hq_console.context import current_merchant_id, platform_merchants, render_hq
from mendian.web.hq_console.forms import (
    SPEC_SLOTS,
    CategoryForm,
    ImagesField,
    ImageUploadForm,
    ProductForm,
    VariantFormSet,
    category_choices,
    category_error_field,
    parse_yuan,
    spec_names_of,
    variant_error_index,
    variant_initial,
)
from mendian.web.hq_console.selectors import store_options

PRODUCTS_PER_PAGE = 20
LISTINGS_PER_PAGE = 30


def _not_found(request, nav):
    return render_hq(request, "console/not_found.html", {}, nav=nav, status=404)


def _flatten(tree: list[dict], depth: int = 0) -> list[dict]:
    rows = []
    for node in tree:
        rows.append({"node": node, "depth": depth, "indent": depth * 20})
        rows.extend(_flatten(node["children"], depth + 1))
    return rows


def _categories_merchant(request) -> int | None:
    """The merchant whose tree the page shows (platform admins must have switched to one)."""
    return current_merchant_id(request)


# --- categories ---------------------------------------------------------------------------------------
def _categories_page(request, *, create_form=None, edit_form=None, editing=None, status=200):
    actor = request.actor
    merchant_id = _categories_merchant(request)
    if merchant_id is None:
        return render_hq(request, "hq/categories.html", {"need_merchant": True}, nav="categories")
    tree = category_tree_for_actor(actor=actor, merchant_id=merchant_id)
    if editing is None and request.GET.get("edit"):
        try:
            editing = category_get_for_actor(actor=actor, category_id=request.GET["edit"])
        except NotFound:
            editing = None
        if editing is not None and editing.merchant_id != merchant_id:
            editing = None
    if editing is not None and edit_form is None:
        edit_form = CategoryForm(
            initial={
                "name": editing.name,
                "parent": str(editing.parent_id or ""),
                "icon": editing.icon,
                "position": editing.position,
            },
            parent_choices=category_choices(tree, exclude_id=str(editing.pk)),
            prefix="edit",
        )
    create_form = create_form or CategoryForm(parent_choices=category_choices(tree))
    return render_hq(
        request,
        "hq/categories.html",
        {
            "rows": _flatten(tree),
            "create_form": create_form,
            "edit_form": edit_form,
            "editing": editing,
        },
        nav="categories",
        status=status,
    )


@hq_view
def categories(request):
    return _categories_page(request)


@hq_view
def category_create_view(request):
    if request.method != "POST":
        return redirect("hq:categories")
    actor = request.actor
    merchant_id = _categories_merchant(request)
    if merchant_id is None:
        return redirect("hq:categories")
    tree = category_tree_for_actor(actor=actor, merchant_id=merchant_id)
    form = CategoryForm(request.POST, parent_choices=category_choices(tree))
    if form.is_valid():
        try:
            category = category_create(actor=actor, data=form.category_data(), merchant_id=merchant_id)
        except DomainError as exc:
            add_domain_error(form, exc, category_error_field, default_field="name")
        else:
            messages.success(request, _("分类“%(name)s”已创建") % {"name": category.name})
            return redirect("hq:categories")
    return _categories_page(request, create_form=form)


@hq_view
def category_edit(request, category_id):
    actor = request.actor
    try:
        category = category_get_for_actor(actor=actor, category_id=category_id)
    except NotFound:
        return _not_found(request, "categories")
    if request.method != "POST":
        return redirect(f"{reverse('hq:categories')}?edit={category.pk}")
    tree = category_tree_for_actor(actor=actor, merchant_id=category.merchant_id)
    form = CategoryForm(
        request.POST, parent_choices=category_choices(tree, exclude_id=str(category.pk)), prefix="edit"
    )
    if form.is_valid():
        try:
            category_update(actor=actor, category=category, data=form.category_data())
        except DomainError as exc:
            add_domain_error(form, exc, category_error_field, default_field="name")
        else:
            messages.success(request, _("分类已保存"))
            return redirect("hq:categories")
    return _categories_page(request, edit_form=form, editing=category)


@hq_view
def category_remove(request, category_id):
    actor = request.actor
    try:
        category = category_get_for_actor(actor=actor, category_id=category_id)
    except NotFound:
        return _not_found(request, "categories")
    if request.method != "POST":
        return redirect("hq:categories")
    try:
        category_delete(actor=actor, category=category)
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(request, _("分类“%(name)s”已删除") % {"name": category.name})
    return redirect("hq:categories")


# --- products -----------------------------------------------------------------------------------------
def _product_row(item: dict) -> dict:
    active = [variant for variant in item["variants"] if variant["is_active"]] or item["variants"]
    prices = [variant["price"]["amount"] for variant in active]
    low, high = (min(prices), max(prices)) if prices else (0, 0)
    return {
        "item": item,
        "thumbnail": item["images"][0]["thumbnail"] if item["images"] else None,
        "price_low": yuan(low),
        "price_high": yuan(high),
        "sku_count": len([variant for variant in item["variants"] if variant["is_active"]]),
    }


@hq_view
def product_list(request):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    q = request.GET.get("q", "").strip()
    category = request.GET.get("category", "")
    status = request.GET.get("status", "")
    if status not in ("active", "inactive"):
        status = ""
    tree = category_tree_for_actor(actor=actor, merchant_id=merchant_id)
    try:
        page = products_for_actor(
            actor=actor,
            q=q or None,
            category_id=category or None,
            status=status or None,
            merchant_id=merchant_id,
            limit=PRODUCTS_PER_PAGE,
            cursor=cursor_param(request),
        )
    except DomainError as exc:
        message_domain_error(request, exc)
        page = {"items": [], "next_cursor": None}
    return render_hq(
        request,
        "hq/products.html",
        {
            "rows": [_product_row(item) for item in page["items"]],
            "pages": page_links(request, page["next_cursor"]),
            "q": q,
            "category": category,
            "status": status,
            "category_options": category_choices(tree),
        },
        nav="products",
    )


def _category_options(request, merchant_id) -> list:
    tree = category_tree_for_actor(actor=request.actor, merchant_id=merchant_id)
    if request.actor.is_platform and merchant_id is None:
        names = {str(m.pk): m.name for m in platform_merchants(request) or []}
        options = []
        for node in tree:
            options.extend(
                (value, f"{names.get(node['merchant_id'], '')} / {label}")
                for value, label in category_choices([node])
            )
        return options
    return category_choices(tree)


class CreateProductForm(ProductForm):
    images = ImagesField(
        label=gettext_lazy("商品图片"),
        help_text=gettext_lazy("可多选，JPEG / PNG / WebP / GIF，单张不超过 8 MB"),
    )

    def clean_images(self):
        files = self.cleaned_data["images"]
        if len(files) > MAX_IMAGES:
            raise forms.ValidationError(_("最多 %(count)s 张图片") % {"count": MAX_IMAGES})
        return files


def _variant_formset(request, *, initial=None, spec_names=None):
    formset = VariantFormSet(request.POST or None, initial=initial, prefix="v")
    formset.spec_names = spec_names
    for form in formset.forms + [formset.empty_form]:
        styled(form)
    return formset


def _product_data(form, formset) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"].strip(),
        "category_id": data["category"],
        "subtitle": data["subtitle"].strip(),
        "brand": data["brand"].strip(),
        "tags": data["tags"],
        "description": data["description"].strip(),
        "is_active": data["is_active"],
        "variants": formset.variants(),
    }


def _place_product_error(form, formset, exc: DomainError) -> None:
    """A service refusal next to the row and field it is about."""
    placed = False
    for item in exc.errors or []:
        loc = [str(part) for part in item.get("loc", []) if part != "body"]
        index, field = variant_error_index(loc)
        if index is not None and index < len(formset.forms):
            # variants() skips blank rows: map the service's index to the form's.
            filled = [f for f in formset.forms if not f.is_blank()]
            target = filled[index] if index < len(filled) else formset.forms[index]
            target.add_error(field if field in target.fields else None, error_message(exc))
            placed = True
    if not placed and exc.code in ("sku_code_taken", "barcode_taken"):
        key = "sku_code" if exc.code == "sku_code_taken" else "barcode"
        for variant_form in formset.forms:
            value = variant_form.cleaned_data.get(key) if hasattr(variant_form, "cleaned_data") else None
            if value and f" {value} " in f" {exc.detail} ":
                variant_form.add_error(key, error_message(exc))
                placed = True
    if not placed:
        field_map = {"category_id": "category", "images": "images"}
        add_domain_error(form, exc, lambda loc: field_map.get(loc[0], loc[0]) if loc else None)


def _spec_names_from_post(request) -> list[str]:
    return [request.POST.get(f"spec_{slot}", "").strip() for slot in range(1, SPEC_SLOTS + 1)]


@hq_view
def product_create_view(request):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    options = _category_options(request, merchant_id)
    form = CreateProductForm(request.POST or None, request.FILES or None, category_options=options)
    spec_names = _spec_names_from_post(request) if request.method == "POST" else ["", "", ""]
    formset = _variant_formset(request, spec_names=spec_names)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = _product_data(form, formset)
        data["images"] = [
            base64.b64encode(upload.read()).decode("ascii") for upload in form.cleaned_data["images"]
        ]
        try:
            product = product_create(actor=actor, data=data)
        except DomainError as exc:
            _place_product_error(form, formset, exc)
        else:
            messages.success(request, _("商品“%(name)s”已创建") % {"name": product.name})
            return redirect("hq:product_edit", product_id=product.pk)
    return render_hq(
        request,
        "hq/product_form.html",
        {"form": form, "formset": formset, "spec_names": spec_names, "product": None},
        nav="products",
    )


@hq_view
def product_edit(request, product_id):
    actor = request.actor
    try:
        product = product_get_for_actor(actor=actor, product_id=product_id)
    except NotFound:
        return _not_found(request, "products")
    current = product_read(product=product)
    names = spec_names_of(current["variants"])
    names += [""] * (SPEC_SLOTS - len(names))
    options = _category_options(request, product.merchant_id)
    form = ProductForm(
        request.POST or None, initial=ProductForm.initial_from(current), category_options=options
    )
    spec_names = _spec_names_from_post(request) if request.method == "POST" else names
    formset = _variant_formset(
        request, initial=variant_initial(current["variants"], names), spec_names=spec_names
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            product_update(actor=actor, product=product, data=_product_data(form, formset))
        except DomainError as exc:
            _place_product_error(form, formset, exc)
        else:
            messages.success(request, _("商品已保存"))
            return redirect("hq:product_edit", product_id=product.pk)
    return render_hq(
        request,
        "hq/product_form.html",
        {
            "form": form,
            "formset": formset,
            "spec_names": spec_names,
            "product": current,
            "image_form": styled(ImageUploadForm()),
            "inactive_variants": [v for v in current["variants"] if not v["is_active"]],
        },
        nav="products",
    )


@hq_view
def product_images_upload(request, product_id):
    actor = request.actor
    try:
        product = product_get_for_actor(actor=actor, product_id=product_id)
    except NotFound:
        return _not_found(request, "products")
    if request.method != "POST":
        return redirect("hq:product_edit", product_id=product.pk)
    form = ImageUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with transaction.atomic():
                for upload in form.cleaned_data["images"]:
                    product_image_add(actor=actor, product=product, upload=upload)
        except DomainError as exc:
            messages.error(request, _("图片未上传：%(reason)s") % {"reason": error_message(exc)})
        else:
            messages.success(
                request, _("已上传 %(count)s 张图片") % {"count": len(form.cleaned_data["images"])}
            )
    else:
        messages.error(request, " ".join(form.errors.get("images", [])) or _("请选择图片"))
    return redirect(f"{reverse('hq:product_edit', args=[product.pk])}#images")


@hq_view
def product_image_delete(request, product_id, image_id):
    actor = request.actor
    try:
        product = product_get_for_actor(actor=actor, product_id=product_id)
    except NotFound:
        return _not_found(request, "products")
    if request.method != "POST":
        return redirect("hq:product_edit", product_id=product.pk)
    image = product.images.filter(pk=image_id).first()
    if image is None:
        return _not_found(request, "products")
    try:
        product_image_remove(actor=actor, image=image)
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(request, _("图片已删除"))
    return redirect(f"{reverse('hq:product_edit', args=[product.pk])}#images")


# --- per-store listings and prices ----------------------------------------------------------------------
def _listing_rows(items: list[dict], posted=None, errors=None) -> list[dict]:
    rows = []
    for item in items:
        listed = item["listed"]
        if posted is not None:
            listed = f"listed_{item['id']}" in posted
        variants = []
        for variant in item["variants"]:
            value = yuan(variant["price"]) if variant["overridden"] else ""
            if posted is not None:
                value = posted.get(f"price_{variant['sku_id']}", value)
            variants.append(
                {
                    "variant": variant,
                    "value": value,
                    "original": yuan(variant["price"]) if variant["overridden"] else "",
                    "base": yuan(variant["base_price"]),
                    "error": (errors or {}).get(variant["sku_id"]),
                }
            )
        rows.append({"item": item, "listed": listed, "variants": variants})
    return rows


def _listing_changes(post, items: list[dict]) -> tuple[list[dict], list[dict], dict]:
    """(price entries, listing entries, {sku_id: error}) from the posted table: only what changed."""
    prices, listings, errors = [], [], {}
    for item in items:
        if f"row_{item['id']}" not in post:
            continue  # not on the page that was submitted (the catalog changed meanwhile)
        listed = f"listed_{item['id']}" in post
        if listed != item["listed"]:
            listings.append({"product_id": item["id"], "listed": listed})
        for variant in item["variants"]:
            sku_id = variant["sku_id"]
            key = f"price_{sku_id}"
            if key not in post:
                continue
            try:
                amount = parse_yuan(post.get(key, ""))
            except ValueError as exc:
                errors[sku_id] = str(exc)
                continue
            current = variant["price"]["amount"] if variant["overridden"] else None
            if amount == variant["base_price"]["amount"] and current is None:
                amount = None  # typing the base price again is no override
            if amount != current:
                prices.append({"sku_id": sku_id, "price": None if amount is None else {"amount": amount}})
    return prices, listings, errors


@hq_view
def listings(request):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    stores = store_options(actor=actor, merchant_id=merchant_id)
    store_id = request.GET.get("store") or request.POST.get("store") or ""
    context = {"stores": stores, "store": None}
    if not store_id:
        return render_hq(request, "hq/listings.html", context, nav="listings")
    try:
        store = store_get_for_actor(actor=actor, store_id=store_id)
    except NotFound:
        return _not_found(request, "listings")
    q = request.GET.get("q", "").strip()
    try:
        page = store_catalog_for_actor(
            actor=actor, store=store, q=q or None, limit=LISTINGS_PER_PAGE, cursor=cursor_param(request)
        )
    except DomainError as exc:
        message_domain_error(request, exc)
        page = {"items": [], "next_cursor": None}
    posted, errors = None, None
    if request.method == "POST":
        prices, listing_entries, errors = _listing_changes(request.POST, page["items"])
        if not errors:
            try:
                with transaction.atomic():
                    if prices:
                        store_prices_apply(actor=actor, store=store, entries=prices)
                    if listing_entries:
                        store_listings_apply(actor=actor, store=store, entries=listing_entries)
            except DomainError as exc:
                message_domain_error(request, exc)
                posted = request.POST
            else:
                if prices or listing_entries:
                    messages.success(
                        request,
                        _("已保存：%(prices)s 个价格、%(listings)s 个上下架变更")
                        % {"prices": len(prices), "listings": len(listing_entries)},
                    )
                else:
                    messages.info(request, _("没有需要保存的变更"))
                return redirect(request.get_full_path())
        else:
            posted = request.POST
            messages.error(request, _("有价格填写有误，请检查标红的输入框"))
    context.update(
        {
            "store": store,
            "rows": _listing_rows(page["items"], posted, errors),
            "pages": page_links(request, page["next_cursor"]),
            "q": q,
        }
    )
    return render_hq(request, "hq/listings.html", context, nav="listings", status=200)
