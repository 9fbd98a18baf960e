"""Settings for the test suite: the real settings with test-only relaxations."""

import os
import tempfile

os.environ.setdefault("MENDIAN_TESTING", "1")
os.environ.setdefault("MENDIAN_SANDBOX", "1")
os.environ.setdefault("MENDIAN_DATA_DIR", tempfile.mkdtemp(prefix="mendian-test-"))

from mendian.config.settings import *  # noqa: E402,F403
from mendian.config.settings import DATA_DIR  # noqa: E402

MEDIA_ROOT = DATA_DIR / "media"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
