# Secrets Manager layout:
#   <name_prefix>/app                     the app secret (APP_SECRET_ID): OAuth clients + session key
#   <name_prefix>/tokens/<conn>/<provider>  one refresh-token secret per connection and provider,
#                                          created at run time by oauth-callback (SECRET_PREFIX)
# Token secrets are not Terraform resources: they come and go with users' connections.

locals {
  token_secret_prefix = "${var.name_prefix}/tokens/"
  # IAM resource pattern of every token secret (Secrets Manager appends "-XXXXXX" to the ARN,
  # which the trailing "*" also covers).
  token_secret_arn_pattern = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.token_secret_prefix}*"
}

# Created without a value: the operator stores the JSON
#   {"google_client_id": "...", "google_client_secret": "...",
#    "zoho_client_id": "...", "zoho_client_secret": "...", "session_key": "<random, 32+ bytes>"}
# with `aws secretsmanager put-secret-value` (docs/deploy.md). Keeping the value out of Terraform
# keeps the client secrets out of the state file.
resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:The OAuth client secrets are issued by Google and Zoho consoles and cannot be rotated by a Secrets Manager rotation Lambda; the operator rotates them (docs/deploy.md).
  name        = "${var.name_prefix}/app"
  description = "OAuth client ids/secrets for Google and Zoho and the session signing key of ${var.name_prefix}."
  kms_key_id  = aws_kms_key.secrets.arn
  # A week to undo an accidental delete; the minimum (7) since recreating it is cheap.
  recovery_window_in_days = 7
}
