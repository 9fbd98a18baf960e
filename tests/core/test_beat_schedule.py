"""The beat schedule runs every periodic job the apps define, and names only jobs that exist."""

import inspect

from django.conf import settings

from mendian.config.celery import app


def _our_tasks() -> dict:
    app.loader.import_default_modules()  # what the worker's autodiscovery imports
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_job_that_takes_no_arguments_is_scheduled():
    # A task taking no arguments is a sweep or a recount: nobody calls it with an id, so only the
    # beat runs it. The stock reservation sweep once existed without an entry and never ran.
    periodic = {name for name, task in _our_tasks().items() if not inspect.signature(task.run).parameters}
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "inventory.release_expired_reservations" in periodic
    assert periodic - scheduled == set()


def test_every_scheduled_job_exists():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled - set(_our_tasks()) == set()
