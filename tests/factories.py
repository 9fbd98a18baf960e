"""factory_boy factories shared by every app's tests."""

import datetime as dt

import factory

from mendian.accounts.models import Customer, Staff
from mendian.catalog import shelf
from mendian.catalog.models import Category, Product, Sku
from mendian.core.pii import blind_index
from mendian.core.scope import Role
from mendian.merchants.models import Merchant
from mendian.stores.models import OpeningHours, Store


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"brand{n}")
    name = factory.Sequence(lambda n: f"品牌{n}")


class StoreFactory(factory.django.DjangoModelFactory):
    """An open store in central Wuhan, open all day every day unless `hours` says otherwise."""

    class Meta:
        model = Store
        skip_postgeneration_save = True

    merchant = factory.SubFactory(MerchantFactory)
    code = factory.Sequence(lambda n: f"s{n:03d}")
    name = factory.Sequence(lambda n: f"测试门店{n}")
    city = "武汉市"
    district = "江汉区"
    address = factory.Sequence(lambda n: f"江汉路{n}号")
    lat = 30.5801
    lng = 114.2865
    phone = "027-85551234"

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create:
            return
        spans = extracted if extracted is not None else [(d, dt.time(0, 0), dt.time(0, 0)) for d in range(7)]
        OpeningHours.objects.bulk_create(
            OpeningHours(store=self, weekday=day, opens=opens, closes=closes) for day, opens, closes in spans
        )

    @factory.post_generation
    def shelve(self, create, extracted, **kwargs):
        # What store_create does: the storefront's list reads the store's shelf.
        if create:
            shelf.refresh(merchant_id=self.merchant_id, store_ids=[self.pk])


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"分类{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    merchant = factory.SubFactory(MerchantFactory)
    category = factory.SubFactory(CategoryFactory, merchant=factory.SelfAttribute("..merchant"))
    name = factory.Sequence(lambda n: f"商品{n}")
    min_price = 1000

    @factory.post_generation
    def shelve(self, create, extracted, **kwargs):
        # What the catalog services do after each write: the storefront's list reads the shelves.
        if create:
            shelf.refresh(merchant_id=self.merchant_id, product_ids=[self.pk])


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    merchant = factory.SelfAttribute("product.merchant")
    sku_code = factory.Sequence(lambda n: f"SKU{n:05d}")
    specs = factory.LazyFunction(lambda: {"规格": "标准"})
    price = 1000

    @factory.post_generation
    def shelve(self, create, extracted, **kwargs):
        if create:
            shelf.refresh(merchant_id=self.merchant_id, product_ids=[self.product_id])


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    role = Role.STORE_CLERK
    merchant = factory.LazyAttribute(lambda o: o.store.merchant if o.store else None)
    store = None

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "correct-horse-9")
        if create:
            self.save(update_fields=["password"])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    phone = factory.Sequence(lambda n: f"139{n:08d}")
    phone_hash = factory.LazyAttribute(lambda o: blind_index(o.phone))
