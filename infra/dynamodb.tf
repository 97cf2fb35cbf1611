# The single state table. Its keys, index, TTL attribute and billing mode must equal
# shared::store::schema::table_schema() (`cargo run -q -p shared --example store_schema`);
# tests/infra/test_consistency.py compares them.
resource "aws_dynamodb_table" "state" {
  name = "${var.name_prefix}-state"
  # On demand: traffic is a burst every few minutes and idle in between, which provisioned
  # capacity would either throttle or pay for unused.
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi1sk"
    type = "S"
  }

  # Sparse index of enabled connections by frequency (gsi1pk = FREQ#<key>, gsi1sk = CONN#<id>):
  # the tick queries it to find the connections of its frequency.
  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  # OAuth states, leases and old runs expire by this attribute (epoch seconds). The code still
  # checks it on read, because TTL deletion can lag by days.
  ttl {
    attribute_name = "expires_at_s"
    enabled        = true
  }

  # Links and cursors are the sync's memory: losing them would mean re-matching by e-mail.
  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}
