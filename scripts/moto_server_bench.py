"""moto_server for benchmarks: the same server, with base-table Query reading one partition.

moto answers every Query by sorting every item of the table (`Table.all_items`, comparing keys
through Python-level methods), so a Query costs O(table) instead of O(page): with 100,000
contacts (300,000 items) moto needs seconds per request, which measures moto, not the sync. Here
a Query on the table's own key reads only its partition, as DynamoDB does, and sorts compare the
plain key values (the same order); filtering, paging and limits stay moto's own code. Answers,
counts, sizes and consumed capacity do not change (tests/moto/check_partition_query.py). Used by
`make bench` only; the tests run the unpatched server.
"""
import sys
import threading
from decimal import Decimal

from moto.dynamodb.models.table import Table
from moto.server import main

_partition = threading.local()
_all_items = Table.all_items
_query = Table.query


def _plain(key):
    # DynamoDB orders S keys by UTF-8 bytes, which is Python's code point order; N by value.
    # Comparing these plain values is what DynamoType's own ordering does, only without its
    # Python-level comparison method (the slow part of sorting 300,000 items).
    return Decimal(key.value) if key.type == "N" else key.value


def all_items(self):
    key = getattr(_partition, "key", None)
    if key is not None and self.range_key_attr:
        return sorted(self.items.get(key, {}).values(), key=lambda item: _plain(item.range_key))
    # Every item, in moto's order (hash key, then range key), for index queries and scans.
    items = [item for part in self.items.values() for item in (part.values() if self.range_key_attr else [part])]
    if self.range_key_attr:
        return sorted(items, key=lambda x: (_plain(x.hash_key), _plain(x.range_key)))
    return sorted(items, key=lambda x: _plain(x.hash_key))


def query(self, hash_key, *args, **kwargs):
    # moto passes index_name as the 8th positional argument.
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name is not None or hash_key is None:
        return _query(self, hash_key, *args, **kwargs)
    _partition.key = hash_key
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _partition.key = None


Table.all_items = all_items
Table.query = query

if __name__ == "__main__":
    sys.exit(main())
