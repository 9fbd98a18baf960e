import pytest

from mendian.config.api import hq_api
from mendian.merchants import api as merchants_api


def merchants_hq_router_mounted() -> bool:
    return any(router is merchants_api.hq for _, router in hq_api._routers)


@pytest.fixture(autouse=True)
def _merchants_hq_urls(settings):
    """Until config/api.py mounts `merchants_api.hq`, serve it from a test URLconf at the same paths."""
    if not merchants_hq_router_mounted():
        settings.ROOT_URLCONF = "tests.merchants.urls"
