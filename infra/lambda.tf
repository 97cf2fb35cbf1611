# The three functions. Zips come from `make package` (cargo lambda build --release
# --output-format zip): target/lambda/<function>/bootstrap.zip, each holding one `bootstrap`
# executable for the provided.al2023 runtime on x86_64 (the architecture the release build targets).
#
# Environment variables are exactly those shared::config::env_vars_for() lists for each
# function (tests/infra/test_consistency.py compares them with the store_schema example). They
# are written out literally in each function, not merged from a shared local, so that the check
# reads them without evaluating Terraform expressions.

locals {
  public_base_url = var.public_base_url != "" ? var.public_base_url : aws_apigatewayv2_api.http.api_endpoint
}

# Log groups are created here, not by Lambda on first use, so that they have a retention and a
# KMS key, and so that the roles need no logs:CreateLogGroup.
resource "aws_cloudwatch_log_group" "oauth_callback" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 90): logs can hold users' e-mail addresses, so they are kept no longer than needed to investigate a report.
  name              = "/aws/lambda/${local.fn_oauth_callback}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_cloudwatch_log_group" "sync_tick" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 90): logs can hold users' e-mail addresses, so they are kept no longer than needed to investigate a report.
  name              = "/aws/lambda/${local.fn_sync_tick}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_cloudwatch_log_group" "sync_status" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 90): logs can hold users' e-mail addresses, so they are kept no longer than needed to investigate a report.
  name              = "/aws/lambda/${local.fn_sync_status}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

# ---------------------------------------------------------------------------------------------
# oauth-callback: connect flow (start + callback for Google and Zoho), settings page,
# sync-now and disconnect. Behind the HTTP API only.
# ---------------------------------------------------------------------------------------------
resource "aws_lambda_function" "oauth_callback" {
  #checkov:skip=CKV_AWS_117:No VPC: the function calls Google and Zoho over the internet, which from a VPC would need a NAT gateway (a fixed monthly cost) for no gain; DynamoDB and Secrets Manager are reached with IAM over TLS.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a DLQ applies to asynchronous invocations and would never receive anything.
  #checkov:skip=CKV_AWS_272:The zip is built locally by `make package`; code signing would need an AWS Signer profile and signing step outside this repository.
  #checkov:skip=CKV_AWS_115:Bounded by the HTTP API's default route throttling instead; reserving concurrency for an interactive function would take it from the account pool for a few clicks a day.
  function_name = local.fn_oauth_callback
  description   = "Connect flow for Google and Zoho, settings page, sync-now, disconnect"
  role          = aws_iam_role.oauth_callback.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["x86_64"]

  filename         = "${path.module}/../target/lambda/oauth-callback/bootstrap.zip"
  source_code_hash = filebase64sha256("${path.module}/../target/lambda/oauth-callback/bootstrap.zip")

  memory_size = var.memory_mb.oauth_callback
  # Under the HTTP API's 30 s integration limit; a token exchange with Google or Zoho takes about
  # a second, the rest is room for their retries.
  timeout     = 29
  kms_key_arn = aws_kms_key.data.arn

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.oauth_callback.name
  }

  environment {
    variables = {
      STATE_TABLE        = aws_dynamodb_table.state.name
      SECRET_PREFIX      = local.token_secret_prefix
      SECRET_KMS_KEY_ID  = aws_kms_key.secrets.arn
      SYNC_TICK_FUNCTION = aws_lambda_function.sync_tick.function_name
      APP_SECRET_ID      = aws_secretsmanager_secret.app.arn
      PUBLIC_BASE_URL    = local.public_base_url
      GOOGLE_OAUTH_URL   = var.service_urls.google_oauth
      GOOGLE_TOKEN_URL   = var.service_urls.google_token
      GOOGLE_PEOPLE_URL  = var.service_urls.google_people
      ZOHO_ACCOUNTS_URL  = var.service_urls.zoho_accounts
      ZOHO_API_URL       = var.service_urls.zoho_api
    }
  }

  depends_on = [aws_iam_role_policy.oauth_callback]
}

# ---------------------------------------------------------------------------------------------
# sync-tick: invoked by EventBridge Scheduler with {"frequency": "<key>"}.
# ---------------------------------------------------------------------------------------------

# Receives tick invocations that failed after Lambda's own retries (see the invoke config below).
resource "aws_sqs_queue" "tick_dlq" {
  name                              = "${var.name_prefix}-sync-tick-dlq"
  kms_master_key_id                 = aws_kms_key.data.arn
  kms_data_key_reuse_period_seconds = 300
  # 14 days (the maximum): a failed tick is an alarm to investigate, not a message to replay.
  message_retention_seconds = 1209600
}

resource "aws_lambda_function" "sync_tick" {
  #checkov:skip=CKV_AWS_117:No VPC: the function calls Google and Zoho over the internet, which from a VPC would need a NAT gateway (a fixed monthly cost) for no gain; DynamoDB and Secrets Manager are reached with IAM over TLS.
  #checkov:skip=CKV_AWS_272:The zip is built locally by `make package`; code signing would need an AWS Signer profile and signing step outside this repository.
  function_name = local.fn_sync_tick
  description   = "Syncs every connection of one frequency ({\"frequency\": \"1h\"})"
  role          = aws_iam_role.sync_tick.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["x86_64"]

  filename         = "${path.module}/../target/lambda/sync-tick/bootstrap.zip"
  source_code_hash = filebase64sha256("${path.module}/../target/lambda/sync-tick/bootstrap.zip")

  memory_size = var.memory_mb.sync_tick
  # Lambda's maximum. The tick takes its time budget from the invocation deadline and carries
  # whatever does not fit to the next tick, so a long timeout only means more work per tick.
  timeout     = var.tick_timeout_seconds
  kms_key_arn = aws_kms_key.data.arn

  # Bounds how many ticks run at once (scheduler retries, Lambda retries and overlapping
  # frequencies all add up), and so the request rate to Google and Zoho. Per-connection leases
  # keep a second concurrent tick from touching the same connection.
  reserved_concurrent_executions = var.tick_reserved_concurrency

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.sync_tick.name
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.tick_dlq.arn
  }

  environment {
    variables = {
      STATE_TABLE       = aws_dynamodb_table.state.name
      SECRET_PREFIX     = local.token_secret_prefix
      APP_SECRET_ID     = aws_secretsmanager_secret.app.arn
      GOOGLE_OAUTH_URL  = var.service_urls.google_oauth
      GOOGLE_TOKEN_URL  = var.service_urls.google_token
      GOOGLE_PEOPLE_URL = var.service_urls.google_people
      ZOHO_ACCOUNTS_URL = var.service_urls.zoho_accounts
      ZOHO_API_URL      = var.service_urls.zoho_api
    }
  }

  depends_on = [aws_iam_role_policy.sync_tick]
}

# Scheduler invokes the tick asynchronously. One Lambda retry covers a transient failure; more
# would only overlap the next scheduled tick, which picks up the same work anyway. An event older
# than an hour is stale for every frequency above 1h and superseded below it.
resource "aws_lambda_function_event_invoke_config" "sync_tick" {
  function_name                = aws_lambda_function.sync_tick.function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 3600
}

# ---------------------------------------------------------------------------------------------
# sync-status: GET /status for one connection (authenticated by the app).
# ---------------------------------------------------------------------------------------------
resource "aws_lambda_function" "sync_status" {
  #checkov:skip=CKV_AWS_117:No VPC: the function only reads DynamoDB, reached with IAM over TLS; a VPC would add endpoints or a NAT gateway for no gain.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a DLQ applies to asynchronous invocations and would never receive anything.
  #checkov:skip=CKV_AWS_272:The zip is built locally by `make package`; code signing would need an AWS Signer profile and signing step outside this repository.
  #checkov:skip=CKV_AWS_115:Bounded by the HTTP API's default route throttling instead; reserving concurrency for a read-only status page would take it from the account pool.
  function_name = local.fn_sync_status
  description   = "Status of one connection: last runs and their results"
  role          = aws_iam_role.sync_status.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["x86_64"]

  filename         = "${path.module}/../target/lambda/sync-status/bootstrap.zip"
  source_code_hash = filebase64sha256("${path.module}/../target/lambda/sync-status/bootstrap.zip")

  memory_size = var.memory_mb.sync_status
  timeout     = 10
  kms_key_arn = aws_kms_key.data.arn

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.sync_status.name
  }

  environment {
    variables = {
      STATE_TABLE     = aws_dynamodb_table.state.name
      PUBLIC_BASE_URL = local.public_base_url
    }
  }

  depends_on = [aws_iam_role_policy.sync_status]
}
