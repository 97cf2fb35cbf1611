# One execution role per function, each limited to what that function does:
#
#   function        table          token secrets (<prefix>/tokens/*)     app secret  other
#   oauth-callback  read + write   create, put, get, delete              get         -
#   sync-tick       read + write   get, put (rotated refresh tokens)     get         send to its DLQ
#   sync-status     read only      none                                  none        -
#
# No statement has a wildcard action. The only "*" resource is X-Ray's, which has no
# resource-level permissions. KMS use is limited to this deployment's keys and, through
# kms:ViaService, to calls made by the services that hold the data.

locals {
  table_arns = [
    aws_dynamodb_table.state.arn,
    "${aws_dynamodb_table.state.arn}/index/*",
  ]

  # Exactly the DynamoDB operations shared::store::dynamo calls (tests/infra checks this against
  # the source): queries on the table and on gsi1, conditional puts for leases, links and OAuth
  # states, batches for links and run history. Table management (create_table,
  # update_time_to_live) is only used by tests; here Terraform owns the table.
  dynamodb_read_actions = [
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
  ]
  dynamodb_write_actions = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
  ]
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# ---------------------------------------------------------------------------------------------
# oauth-callback
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "oauth_callback" {
  name               = "${local.fn_oauth_callback}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "oauth_callback" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.oauth_callback.arn}:*"]
  }

  # Resource "*" is required: xray:PutTraceSegments and xray:PutTelemetryRecords have no
  # resource-level permissions (tracing_config mode = "Active" needs them).
  statement {
    sid       = "XRayTracing"
    effect    = "Allow"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  statement {
    sid       = "StateTable"
    effect    = "Allow"
    actions   = concat(local.dynamodb_read_actions, local.dynamodb_write_actions)
    resources = local.table_arns
  }

  # Connect stores the refresh token (create, or put when the secret already exists), reconnect
  # reads it, disconnect deletes it.
  statement {
    sid    = "TokenSecrets"
    effect = "Allow"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
    ]
    resources = [local.token_secret_arn_pattern]
  }

  # "Sync now" on the settings page starts a run of this connection on the tick (async invoke).
  statement {
    sid       = "SyncNow"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.sync_tick.arn]
  }

  statement {
    sid       = "AppSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.app.arn]
  }

  statement {
    sid       = "SecretsKeyViaSecretsManager"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.secrets.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "DataKeyViaDynamoDbAndLambda"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "lambda.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "oauth_callback" {
  name   = "${local.fn_oauth_callback}-access"
  role   = aws_iam_role.oauth_callback.id
  policy = data.aws_iam_policy_document.oauth_callback.json
}

# ---------------------------------------------------------------------------------------------
# sync-tick
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "sync_tick" {
  name               = "${local.fn_sync_tick}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "sync_tick" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.sync_tick.arn}:*"]
  }

  # Resource "*" is required: xray:PutTraceSegments and xray:PutTelemetryRecords have no
  # resource-level permissions (tracing_config mode = "Active" needs them).
  statement {
    sid       = "XRayTracing"
    effect    = "Allow"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  statement {
    sid       = "StateTable"
    effect    = "Allow"
    actions   = concat(local.dynamodb_read_actions, local.dynamodb_write_actions)
    resources = local.table_arns
  }

  # The tick reads refresh tokens and stores the new one when a provider rotates it. It never
  # creates or deletes a token secret: that is the connect flow's job.
  statement {
    sid       = "TokenSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    resources = [local.token_secret_arn_pattern]
  }

  statement {
    sid       = "AppSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.app.arn]
  }

  statement {
    sid       = "SecretsKeyViaSecretsManager"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.secrets.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  # Lambda sends a failed asynchronous invocation to the DLQ with the function's own role.
  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.tick_dlq.arn]
  }

  statement {
    sid       = "DataKeyViaDynamoDbLambdaSqs"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "dynamodb.${local.region}.amazonaws.com",
        "lambda.${local.region}.amazonaws.com",
        "sqs.${local.region}.amazonaws.com",
      ]
    }
  }
}

resource "aws_iam_role_policy" "sync_tick" {
  name   = "${local.fn_sync_tick}-access"
  role   = aws_iam_role.sync_tick.id
  policy = data.aws_iam_policy_document.sync_tick.json
}

# ---------------------------------------------------------------------------------------------
# sync-status: reads the table, nothing else. No secrets, no writes.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "sync_status" {
  name               = "${local.fn_sync_status}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "sync_status" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.sync_status.arn}:*"]
  }

  # Resource "*" is required: xray:PutTraceSegments and xray:PutTelemetryRecords have no
  # resource-level permissions (tracing_config mode = "Active" needs them).
  statement {
    sid       = "XRayTracing"
    effect    = "Allow"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  statement {
    sid       = "StateTableReadOnly"
    effect    = "Allow"
    actions   = local.dynamodb_read_actions
    resources = local.table_arns
  }

  statement {
    sid       = "DataKeyViaDynamoDbAndLambda"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "lambda.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "sync_status" {
  name   = "${local.fn_sync_status}-access"
  role   = aws_iam_role.sync_status.id
  policy = data.aws_iam_policy_document.sync_status.json
}
