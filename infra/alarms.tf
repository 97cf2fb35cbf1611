# Alarms go to one KMS-encrypted SNS topic with an e-mail subscription. Every threshold is
# "more than zero": each of these events means a sync did not happen as scheduled.

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = aws_kms_key.data.arn
}

# CloudWatch publishes the alarms of this deployment only. Same-account principals (Terraform,
# operators) need no statement here: their IAM policies suffice within the account.
data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

# AWS e-mails a confirmation link; no alarm reaches the address before it is clicked.
resource "aws_sns_topic_subscription" "alerts_email" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

locals {
  alarm_functions = {
    "oauth-callback" = aws_lambda_function.oauth_callback.function_name
    "sync-tick"      = aws_lambda_function.sync_tick.function_name
    "sync-status"    = aws_lambda_function.sync_status.function_name
  }
  dead_letter_queues = {
    "sync-tick" = aws_sqs_queue.tick_dlq.name
    "scheduler" = aws_sqs_queue.scheduler_dlq.name
  }
}

# A tick that fails (error or timeout) left its connections unsynced until the next one.
resource "aws_cloudwatch_metric_alarm" "tick_errors" {
  alarm_name          = "${var.name_prefix}-sync-tick-errors"
  alarm_description   = "sync-tick returned an error or timed out. See its log group and the status of the affected connections."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.sync_tick.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # No invocations means no errors: missing data must not raise the alarm.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.alerts.arn]
  ok_actions         = [aws_sns_topic.alerts.arn]
}

# Errors of the API functions show up as 5xx pages to users.
resource "aws_cloudwatch_metric_alarm" "api_function_errors" {
  for_each = { for k, v in local.alarm_functions : k => v if k != "sync-tick" }

  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "${each.key} returned errors (users saw a 5xx). See its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

# Throttles: for sync-tick, ticks are queued against its reserved concurrency; for the API
# functions, the account's concurrency is exhausted.
resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = local.alarm_functions

  alarm_name          = "${var.name_prefix}-${each.key}-throttles"
  alarm_description   = "${each.key} was throttled. For sync-tick consider raising tick_reserved_concurrency."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

# A message in either DLQ is a tick that never ran (scheduler) or failed after retries (tick).
resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.dead_letter_queues

  alarm_name          = "${var.name_prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "Messages in the ${each.key} dead-letter queue: ticks that failed or were never delivered. Inspect, then purge the queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}
