output "api_base_url" {
  description = "Public base URL of the HTTP API (PUBLIC_BASE_URL of the functions)."
  value       = local.public_base_url
}

output "home_url" {
  description = "Where a user starts: connect Zoho and Google, see the connection."
  value       = "${local.public_base_url}/"
}

output "google_redirect_uri" {
  description = "Authorized redirect URI to register on the Google OAuth client (web application)."
  value       = "${local.public_base_url}/oauth/google/callback"
}

output "zoho_redirect_uri" {
  description = "Authorized redirect URI to register on the Zoho server-based client."
  value       = "${local.public_base_url}/oauth/zoho/callback"
}

output "settings_url" {
  description = "Settings page (GET shows, POST saves): group, list, direction, conflict policy, frequency, field pairs."
  value       = "${local.public_base_url}/settings"
}

output "status_url" {
  description = "Status of the signed-in user's connection."
  value       = "${local.public_base_url}/status"
}

output "app_secret_id" {
  description = "ARN of the app secret; store the OAuth clients and session key in it (docs/deploy.md)."
  value       = aws_secretsmanager_secret.app.arn
}

output "token_secret_prefix" {
  description = "Name prefix of the per-connection token secrets."
  value       = local.token_secret_prefix
}

output "state_table_name" {
  description = "DynamoDB state table."
  value       = aws_dynamodb_table.state.name
}

output "alerts_topic_arn" {
  description = "SNS topic of the alarms."
  value       = aws_sns_topic.alerts.arn
}

output "dead_letter_queue_urls" {
  description = "DLQs of the tick and of the scheduler."
  value = {
    sync_tick = aws_sqs_queue.tick_dlq.url
    scheduler = aws_sqs_queue.scheduler_dlq.url
  }
}
