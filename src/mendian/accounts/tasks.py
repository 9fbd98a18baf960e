from celery import shared_task

from mendian.accounts.services import sms_codes_purge


@shared_task(name="accounts.sms_codes_purge")
def sms_codes_purge_task() -> int:
    """Periodic: drop login codes a day after they expired (they are useless and only take space)."""
    return sms_codes_purge()
