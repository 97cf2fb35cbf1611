"""Checks that the benchmark's moto patch (scripts/moto_server_bench.py) answers every Query
exactly as unpatched moto does: same items, order, pages and counts. Run by `make test` with the
moto venv's Python (in-process moto, no server)."""
import importlib.util
import pathlib
import sys

import boto3
from moto import mock_aws
from moto.dynamodb.models.table import Table

ROOT = pathlib.Path(__file__).resolve().parents[2]
ORIGINAL = (Table.query, Table.all_items)
spec = importlib.util.spec_from_file_location("moto_server_bench", ROOT / "scripts" / "moto_server_bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)  # patches Table
PATCHED = (Table.query, Table.all_items)
assert PATCHED != ORIGINAL, "the patch did not replace Table.query"


def answers(client, patched: bool):
    Table.query, Table.all_items = PATCHED if patched else ORIGINAL
    out = []
    queries = [
        dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "CONN#a"}}),
        dict(KeyConditionExpression="pk = :p AND begins_with(sk, :s)", ExpressionAttributeValues={":p": {"S": "CONN#a"}, ":s": {"S": "LINK#"}}, Limit=7),
        dict(KeyConditionExpression="pk = :p AND begins_with(sk, :s)", ExpressionAttributeValues={":p": {"S": "CONN#b"}, ":s": {"S": "RUN#"}}, ScanIndexForward=False, Limit=4),
        dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "CONN#none"}}),
        dict(IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", ExpressionAttributeValues={":g": {"S": "FREQ#1h"}}),
    ]
    for q in queries:
        pages, start = [], None
        while True:
            kwargs = dict(TableName="t", **q)
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = client.query(**kwargs)
            pages.append((page["Items"], page["Count"], page.get("LastEvaluatedKey")))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        out.append(pages)
    # A scan, which reads every item in moto's order too.
    out.append(client.scan(TableName="t", Limit=30)["Items"])
    return out


with mock_aws():
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        GlobalSecondaryIndexes=[{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )
    for conn, n in (("a", 40), ("b", 25), ("c", 10)):
        client.put_item(TableName="t", Item={"pk": {"S": f"CONN#{conn}"}, "sk": {"S": "META"}, "gsi1pk": {"S": "FREQ#1h"}, "gsi1sk": {"S": f"CONN#{conn}"}})
        for i in range(n):
            client.put_item(TableName="t", Item={"pk": {"S": f"CONN#{conn}"}, "sk": {"S": f"LINK#Z#{i:04}"}, "data": {"S": "x" * (i * 7)}})
            client.put_item(TableName="t", Item={"pk": {"S": f"CONN#{conn}"}, "sk": {"S": f"RUN#{i:015}"}})
    original, patched = answers(client, False), answers(client, True)
    assert original == patched, "the patched Query or Scan answers differently"
    assert sum(len(p) for p in original[1]) > 1, "the paged query should span pages"
    # And the patch is in effect: a table Query no longer goes through moto's whole-table sort.
    Table.query, Table.all_items = PATCHED
    whole_table_reads = []
    original_all_items = bench._all_items
    bench._all_items = lambda self: whole_table_reads.append(1) or original_all_items(self)
    client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "CONN#a"}})
    assert whole_table_reads == [], "a table Query read the whole table"
print("moto partition query patch: same answers on", len(original), "queries and scans")
