from django.db import models


class IdempotencyRecord(models.Model):
    """The first reply to a POST sent with an Idempotency-Key, replayed for repeats (Stripe-style).

    The key is claimed by inserting this row (UNIQUE on scope+key) before the work starts, so
    concurrent repeats cannot both run the work.
    """

    scope = models.CharField(max_length=80, help_text="Who sent it: customer, staff or API key id.")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]
