# Two customer-managed keys, so that a role that may read the table (sync-status) cannot
# decrypt OAuth tokens:
#   - "data":    the state table, Lambda environment variables, log groups, the DLQs and the
#                alarm topic;
#   - "secrets": Secrets Manager only (refresh tokens and the app secret).
# Both rotate yearly (AWS-managed rotation keeps old versions, so nothing needs re-encrypting).

locals {
  # Key administration and use are delegated to IAM in this account (the usual first statement of
  # a key policy): without it nobody, not even the account, could manage the key after creation.
  # The actions are listed instead of "kms:*" so that no statement has a wildcard action; they are
  # the administrator and user actions of AWS's default key policy.
  kms_account_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]
}

data "aws_iam_policy_document" "kms_data" {
  # In a key policy "*" as the resource means "this key": it is the only form AWS accepts.
  #checkov:skip=CKV_AWS_111:Key policy; resource "*" is this key itself.
  #checkov:skip=CKV_AWS_356:Key policy; resource "*" is the only resource a key policy can name (the key itself).
  statement {
    sid       = "AccountAdministrationAndIamDelegation"
    effect    = "Allow"
    actions   = local.kms_account_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the log groups of this deployment only (AWS's documented
  # Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe* for logs, spelled out).
  statement {
    sid    = "CloudWatchLogsForThisDeployment"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/apigateway/${var.name_prefix}-*",
      ]
    }
  }

  # CloudWatch alarms publish to the KMS-encrypted SNS topic; the publisher needs the key.
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    # Only this deployment's alarms (confused-deputy protection; CloudWatch passes both keys).
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

resource "aws_kms_key" "data" {
  description             = "${var.name_prefix}: state table, Lambda environment, logs, DLQs, alarm topic"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  # 30 days (the maximum) to undo an accidental destroy before the table backups become unreadable.
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_data.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name_prefix}-data"
  target_key_id = aws_kms_key.data.key_id
}

data "aws_iam_policy_document" "kms_secrets" {
  #checkov:skip=CKV_AWS_111:Key policy; resource "*" is this key itself.
  #checkov:skip=CKV_AWS_356:Key policy; resource "*" is the only resource a key policy can name (the key itself).
  # Only IAM delegation: the function roles get kms:Decrypt / kms:GenerateDataKey through their own
  # policies, restricted to calls made by Secrets Manager (kms:ViaService).
  statement {
    sid       = "AccountAdministrationAndIamDelegation"
    effect    = "Allow"
    actions   = local.kms_account_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "secrets" {
  description             = "${var.name_prefix}: OAuth tokens and app secret (Secrets Manager)"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_secrets.json
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name_prefix}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}
