from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _fill_empty_shelves(sender, using, **kwargs) -> None:
    """After migrating, an empty shelf beside sellable products is filled: the migration that made
    the table, or one that emptied it because the list item's JSON changed shape, leaves that to
    the code of the day (a data migration would run today's code against yesterday's schema)."""
    from mendian.catalog import shelf
    from mendian.catalog.models import Product, ShelfItem

    if (
        not ShelfItem.objects.using(using).exists()
        and Product.objects.using(using).filter(is_active=True).exists()
    ):
        shelf.rebuild()


class CatalogConfig(AppConfig):
    name = "mendian.catalog"
    label = "catalog"

    def ready(self) -> None:
        post_migrate.connect(_fill_empty_shelves, sender=self, dispatch_uid="catalog.fill_empty_shelves")
