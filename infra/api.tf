# HTTP API (payload format 2.0). oauth-callback serves the connect flow and the settings page;
# sync-status serves /status. Authentication is done by the functions (signed OAuth state,
# session cookie signed with the app secret's session key), not by an API Gateway authorizer:
# the users are CRM users with no identity in this AWS account.

locals {
  # "GET /" is the home page the connect flow starts from and returns to (shared::connect).
  oauth_callback_routes = toset([
    "GET /",
    "GET /oauth/zoho/start",
    "GET /oauth/google/start",
    "GET /oauth/zoho/callback",
    "GET /oauth/google/callback",
    "GET /settings",
    "POST /settings",
    "POST /sync-now",
    "POST /disconnect",
  ])
  sync_status_routes = toset([
    "GET /status",
  ])
}

resource "aws_apigatewayv2_api" "http" {
  name          = "${var.name_prefix}-api"
  protocol_type = "HTTP"
  description   = "Zoho CRM <-> Google contacts sync: connect flow, settings and status"
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 90): access logs hold client IPs, kept no longer than needed to investigate a report.
  name              = "/aws/apigateway/${var.name_prefix}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  # Throttling for every route: the functions, the table and the OAuth providers see at most
  # this rate whatever a client does.
  default_route_settings {
    throttling_rate_limit    = var.api_throttle.rate_limit
    throttling_burst_limit   = var.api_throttle.burst_limit
    detailed_metrics_enabled = true
  }

  # No query strings in the access log: OAuth callbacks carry the authorization code and state
  # there. $context.routeKey names the route without them.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      ip                 = "$context.identity.sourceIp"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      latencyMs          = "$context.responseLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationError   = "$context.integrationErrorMessage"
      integrationLatency = "$context.integrationLatency"
    })
  }
}

resource "aws_apigatewayv2_integration" "oauth_callback" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.oauth_callback.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_integration" "sync_status" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.sync_status.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 10000
}

resource "aws_apigatewayv2_route" "oauth_callback" {
  #checkov:skip=CKV_AWS_309:Users are CRM users without AWS identities; the function authenticates each request itself (signed OAuth state on callbacks, signed session cookie on settings, sync-now and disconnect).
  for_each = local.oauth_callback_routes

  api_id    = aws_apigatewayv2_api.http.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.oauth_callback.id}"
}

resource "aws_apigatewayv2_route" "sync_status" {
  #checkov:skip=CKV_AWS_309:Users are CRM users without AWS identities; sync-status authenticates each request itself (signed session cookie).
  for_each = local.sync_status_routes

  api_id    = aws_apigatewayv2_api.http.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.sync_status.id}"
}

# One permission per route, each limited to that method and path of this API (any stage):
# execute-api ARNs are <execution_arn>/<stage>/<METHOD>/<path>.
resource "aws_lambda_permission" "oauth_callback_api" {
  for_each = local.oauth_callback_routes

  statement_id  = "AllowApi${replace(title(replace(each.key, "/[^A-Za-z0-9]+/", " ")), " ", "")}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.oauth_callback.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/${split(" ", each.key)[0]}${split(" ", each.key)[1]}"
}

resource "aws_lambda_permission" "sync_status_api" {
  for_each = local.sync_status_routes

  statement_id  = "AllowApi${replace(title(replace(each.key, "/[^A-Za-z0-9]+/", " ")), " ", "")}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.sync_status.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/${split(" ", each.key)[0]}${split(" ", each.key)[1]}"
}
