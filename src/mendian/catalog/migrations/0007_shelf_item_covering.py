"""The shelf's item JSON is stored whole (photo URLs behind a mark where the media base URL goes)
and its order indexes cover a browsing page, so PostgreSQL reads a page by an index-only scan.

The old rows are dropped here; `catalog`'s post_migrate handler fills an empty shelf again (see
`catalog.apps`), so an upgrade needs no step of its own.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F

PAGE = ["category", "price_from", "in_stock", "item"]
PRICED_PAGE = ["category", "in_stock", "item"]


def empty_the_shelf(apps, schema_editor):
    apps.get_model("catalog", "ShelfItem").objects.all().delete()


def vacuum_the_shelf_sooner(apps, schema_editor):
    # Index-only scans skip the heap only on pages the visibility map says are all-visible; shelf
    # rows are rewritten by catalog edits, stock flips and the sales recount, and the defaults
    # (a fifth of the table changed) would leave many pages to visit between vacuums.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE catalog_shelfitem SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05)"
        )


def vacuum_defaults(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE catalog_shelfitem RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)"
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_shelf_item")]

    operations = [
        migrations.RunPython(empty_the_shelf, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="shelfitem", name="shelf_default_order_idx"),
        migrations.RemoveIndex(model_name="shelfitem", name="shelf_sales_order_idx"),
        migrations.RemoveIndex(model_name="shelfitem", name="shelf_price_order_idx"),
        migrations.RemoveIndex(model_name="shelfitem", name="shelf_price_desc_order_idx"),
        migrations.AlterField(
            model_name="shelfitem",
            name="store",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="stores.store",
            ),
        ),
        migrations.RemoveField(model_name="shelfitem", name="card"),
        migrations.RemoveField(model_name="shelfitem", name="image"),
        migrations.RemoveField(model_name="shelfitem", name="thumbnail"),
        migrations.AddField(
            model_name="shelfitem", name="item", field=models.TextField(default=""), preserve_default=False
        ),
        migrations.AddIndex(
            model_name="shelfitem",
            index=models.Index(
                F("store"),
                F("position"),
                F("product") * -1,
                name="shelf_default_order_idx",
                include=["product", *PAGE],
            ),
        ),
        migrations.AddIndex(
            model_name="shelfitem",
            index=models.Index(
                F("store"),
                F("price_from"),
                F("product") * -1,
                name="shelf_price_order_idx",
                include=["product", *PRICED_PAGE],
            ),
        ),
        migrations.AddIndex(
            model_name="shelfitem",
            index=models.Index(
                fields=["store", "-price_from", "-product"],
                name="shelf_price_desc_order_idx",
                include=PRICED_PAGE,
            ),
        ),
        migrations.AddIndex(
            model_name="shelfitem",
            index=models.Index(
                fields=["store", "-sales_count", "-product"], name="shelf_sales_order_idx", include=PAGE
            ),
        ),
        migrations.AddIndex(
            model_name="shelfitem",
            index=models.Index(fields=["store", "-product"], name="shelf_new_order_idx", include=PAGE),
        ),
        migrations.RunPython(vacuum_the_shelf_sooner, vacuum_defaults),
    ]
