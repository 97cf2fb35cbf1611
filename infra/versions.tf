# Provider and Terraform versions are pinned so that a plan made today and one made in a year
# read this configuration the same way. `~> 5.80` allows bug-fix and feature releases of the
# 5.x provider (aws_scheduler_schedule, HTTP API v2 resources and log group KMS are all stable
# there) but never a 6.x major release with breaking changes.
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  region = var.region

  # Every resource carries the same tags so the deployment can be found and costed as one.
  default_tags {
    tags = merge(var.tags, {
      "app"        = "zoho-google-contacts-sync"
      "managed-by" = "terraform"
      "deployment" = var.name_prefix
    })
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The three Lambda functions, named after their crates under functions/.
  fn_oauth_callback = "${var.name_prefix}-oauth-callback"
  fn_sync_tick      = "${var.name_prefix}-sync-tick"
  fn_sync_status    = "${var.name_prefix}-sync-status"

  # Zips produced by `make package` (cargo lambda build --output-format zip), relative to this
  # folder: `terraform -chdir=infra apply` is run from the repository root.
  package_root = "${path.module}/../target/lambda"
}
