variable "region" {
  description = "AWS region to deploy into, e.g. eu-west-1."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1 or us-east-2."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (and of the token secrets: <name_prefix>/tokens/). Lower-case letters, digits and dashes."
  type        = string
  default     = "contacts-sync"

  validation {
    # 24 characters keep the longest derived names (e.g. "<prefix>-oauth-callback-errors",
    # IAM role names, schedule names) inside AWS's 64-character limits.
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters: lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "frequencies" {
  description = "Sync frequencies to schedule, one EventBridge schedule each. Each must be a key the sync-tick accepts (shared::settings::Frequency)."
  type        = list(string)
  default     = ["15m", "1h", "3h", "6h", "12h", "24h"]

  validation {
    condition     = length(var.frequencies) > 0 && alltrue([for f in var.frequencies : contains(["15m", "1h", "3h", "6h", "12h", "24h"], f)])
    error_message = "frequencies must be a non-empty list of: 15m, 1h, 3h, 6h, 12h, 24h."
  }

  validation {
    condition     = length(distinct(var.frequencies)) == length(var.frequencies)
    error_message = "frequencies must not repeat a value."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda and API access log groups, in days."
  type        = number
  # 90 days: long enough to investigate a sync problem a user reports late, short enough that
  # the e-mail addresses that appear in logs are not kept longer than needed (data minimisation).
  default = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "alert_email" {
  description = "E-mail address that receives the alarms (the subscription must be confirmed from the mail AWS sends)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address."
  }
}

variable "public_base_url" {
  description = "Public origin of the HTTP API when it is served from a custom domain (https://sync.example.com: no path, no trailing slash). Empty: the API's own execute-api URL. OAuth redirect URIs and links are built from it."
  type        = string
  default     = ""

  validation {
    # Origin only: the pages link to root-relative paths ("/oauth/zoho/start"), so the API must
    # be mapped at the root of the domain, not under a base path.
    condition     = var.public_base_url == "" || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?$", var.public_base_url))
    error_message = "public_base_url must be empty or an https:// origin (scheme, host, optional port) without a path or trailing slash."
  }
}

variable "service_urls" {
  description = "Base URLs of Google and Zoho. The defaults are the real services; Zoho accounts in other data centres (EU, IN, AU, JP, CA, ...) are found through multi-DC OAuth and need no change here."
  type = object({
    google_oauth  = string
    google_token  = string
    google_people = string
    zoho_accounts = string
    zoho_api      = string
  })
  default = {
    google_oauth  = "https://accounts.google.com"
    google_token  = "https://oauth2.googleapis.com"
    google_people = "https://people.googleapis.com"
    zoho_accounts = "https://accounts.zoho.com"
    zoho_api      = "https://www.zohoapis.com"
  }

  validation {
    condition     = alltrue([for u in values(var.service_urls) : can(regex("^https://[^/\\s]+(/[^\\s]*)?[^/\\s]$", u))])
    error_message = "Every service URL must be an https:// URL without a trailing slash."
  }
}

variable "memory_mb" {
  description = "Memory (MB) of each function. Lambda gives CPU in proportion to memory; sync-tick holds both sides of a first sync (about 600 MB at 100,000 contacts, docs/benchmarks.md) and gets the most."
  type = object({
    oauth_callback = number
    sync_tick      = number
    sync_status    = number
  })
  default = {
    oauth_callback = 256
    sync_tick      = 1024
    sync_status    = 128
  }

  validation {
    condition     = alltrue([for m in values(var.memory_mb) : m >= 128 && m <= 10240 && floor(m) == m])
    error_message = "Each memory size must be a whole number of MB between 128 and 10240."
  }
}

variable "tick_timeout_seconds" {
  description = "Timeout of sync-tick. A tick stops taking new connections well before it (its budget comes from the Lambda deadline) and leaves the rest to the next tick."
  type        = number
  default     = 900

  validation {
    condition     = var.tick_timeout_seconds >= 60 && var.tick_timeout_seconds <= 900
    error_message = "tick_timeout_seconds must be between 60 and 900 (Lambda's maximum)."
  }
}

variable "tick_reserved_concurrency" {
  description = "Reserved concurrency of sync-tick: at most this many ticks run at once, which bounds the load on the Google and Zoho APIs (and on their per-user quotas) whatever the scheduler and retries do. Needs at least 100 + this much unreserved concurrency in the account."
  type        = number
  default     = 6

  validation {
    condition     = var.tick_reserved_concurrency >= 1 && var.tick_reserved_concurrency <= 100 && floor(var.tick_reserved_concurrency) == var.tick_reserved_concurrency
    error_message = "tick_reserved_concurrency must be a whole number between 1 and 100."
  }
}

variable "api_throttle" {
  description = "Default route throttling of the HTTP API (requests per second, burst). Protects the functions, the table and the OAuth providers from a flood of requests."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = {
    rate_limit  = 20
    burst_limit = 40
  }

  validation {
    condition     = var.api_throttle.rate_limit > 0 && var.api_throttle.burst_limit >= 1
    error_message = "api_throttle.rate_limit must be positive and burst_limit at least 1."
  }
}

variable "table_deletion_protection" {
  description = "Deletion protection on the state table (links, cursors, run history). Turn off only to destroy the deployment."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
