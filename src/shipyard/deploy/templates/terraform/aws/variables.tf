variable "name" {
  description = "Prefix of every resource name (and the bucket's, with the account id)."
  type        = string
  default     = "shipyard"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits and '-', starting with a letter."
  }
}

variable "vpc_id" {
  description = "The VPC the database and Redis live in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two or more availability zones) for PostgreSQL and Redis."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "give at least two subnets in different availability zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups of the Shipyard server and scheduler: only they reach PostgreSQL and Redis."
  type        = list(string)
}

variable "server_trusted_principals" {
  description = "Who may assume the server's IAM role, as AWS service principals (e.g. ecs-tasks.amazonaws.com) or role ARNs."
  type        = list(string)
  default     = ["ecs-tasks.amazonaws.com"]
}

variable "db_instance_class" {
  description = "RDS instance class of the metadata database."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Database storage in GiB (grows automatically up to ten times this)."
  type        = number
  default     = 20
}

variable "db_engine_version" {
  description = "PostgreSQL major.minor version."
  type        = string
  default     = "16.4"
}

variable "db_multi_az" {
  description = "Run a standby database in a second availability zone."
  type        = bool
  default     = true
}

variable "redis_node_type" {
  description = "ElastiCache node type of the online feature store."
  type        = string
  default     = "cache.t4g.small"
}

variable "deletion_protection" {
  description = "Refuse to delete the database (turn off only to tear a test stack down)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
