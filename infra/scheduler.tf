# One EventBridge Scheduler schedule per frequency. Each invokes sync-tick with
# {"frequency": "<key>"}; the tick syncs every enabled connection on that frequency.

locals {
  # rate() expression and retry window per frequency key (shared::settings::Frequency).
  # A failed delivery is retried for at most one period (capped at an hour): after that the
  # next scheduled tick does the same work, so an older event is useless.
  schedule_rates = {
    "15m" = { expression = "rate(15 minutes)", max_event_age_s = 900 }
    "1h"  = { expression = "rate(1 hour)", max_event_age_s = 3600 }
    "3h"  = { expression = "rate(3 hours)", max_event_age_s = 3600 }
    "6h"  = { expression = "rate(6 hours)", max_event_age_s = 3600 }
    "12h" = { expression = "rate(12 hours)", max_event_age_s = 3600 }
    "24h" = { expression = "rate(24 hours)", max_event_age_s = 3600 }
  }
}

resource "aws_scheduler_schedule_group" "sync" {
  name = "${var.name_prefix}-sync"
}

# Receives schedule invocations that Scheduler could not deliver after its retries (e.g. the
# tick was throttled at its reserved concurrency for the whole retry window).
resource "aws_sqs_queue" "scheduler_dlq" {
  name                              = "${var.name_prefix}-scheduler-dlq"
  kms_master_key_id                 = aws_kms_key.data.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 1209600
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    # Only schedules of this account may use the role (confused-deputy protection).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-scheduler-role"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  # Invoke the tick (unqualified ARN only) and nothing else.
  statement {
    sid       = "InvokeTick"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.sync_tick.arn]
  }

  # Scheduler writes undeliverable events to its DLQ with this role; the queue is encrypted with
  # the data key, so sending needs the key too (only through SQS).
  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.scheduler_dlq.arn]
  }

  statement {
    sid       = "DataKeyViaSqs"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name_prefix}-scheduler-access"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "tick" {
  #checkov:skip=CKV_AWS_297:The schedule's only data is the constant input {"frequency": "<key>"}, public in this repository; it is encrypted at rest with an AWS-owned key, and a CMK would add a kms:Decrypt dependency to every tick without protecting anything.
  for_each = toset(var.frequencies)

  name       = "${var.name_prefix}-tick-${each.key}"
  group_name = aws_scheduler_schedule_group.sync.name

  schedule_expression = local.schedule_rates[each.key].expression

  # Spread the start a little (up to 5 minutes) so that deployments with many frequencies do
  # not fire every schedule in the same second; a sync a few minutes late is harmless.
  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 5
  }

  target {
    arn      = aws_lambda_function.sync_tick.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ frequency = each.key })

    retry_policy {
      maximum_event_age_in_seconds = local.schedule_rates[each.key].max_event_age_s
      maximum_retry_attempts       = 3
    }

    dead_letter_config {
      arn = aws_sqs_queue.scheduler_dlq.arn
    }
  }
}
