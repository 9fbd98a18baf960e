"""Django's PostgreSQL backend, told that a statement carries at most 65,535 parameters.

With server-side binding (our default, for prepared statements) psycopg sends the parameters in
the protocol's Bind message, whose count is a 16-bit integer: a bigger `bulk_create`,
`bulk_update`, cascade delete or `in_bulk` would fail outright instead of being split. Django
splits them for backends that declare `max_query_params` (as for SQLite and Oracle), so this
declares it.
"""

from django.db.backends.postgresql import base, features, operations

MAX_QUERY_PARAMS = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = MAX_QUERY_PARAMS


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        fields = list(fields)
        if len(fields) > 2 and fields[0] is fields[1] and getattr(fields[0], "primary_key", False):
            # `bulk_update` asks with [pk, pk, *fields], but binds `WHEN pk = %s THEN %s` per
            # object and field plus the object's key in the IN list: 2 × fields + 1 per object.
            per_object = 2 * (len(fields) - 2) + 1
        else:
            per_object = len(fields)
        return max(MAX_QUERY_PARAMS // max(per_object, 1), 1)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
