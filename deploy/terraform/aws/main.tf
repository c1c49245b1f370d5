# The team stack of Shipyard on AWS: a versioned, encrypted S3 bucket for blobs, PostgreSQL
# (RDS) for metadata, Redis (ElastiCache) for online features and an IAM role for the server.
# The outputs feed the SHIPYARD_* settings (docs/deploy.md).

data "aws_caller_identity" "current" {}

locals {
  bucket = "${var.name}-artifacts-${data.aws_caller_identity.current.account_id}"
  tags   = merge({ "app.kubernetes.io/part-of" = "shipyard" }, var.tags)
}

resource "aws_kms_key" "shipyard" {
  description             = "Encrypts Shipyard's blobs, database and Redis"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:in a key policy "*" is this key; the account's IAM policies decide who uses it
  #checkov:skip=CKV_AWS_356:in a key policy "*" is this key; the account's IAM policies decide who uses it
  #checkov:skip=CKV_AWS_109:in a key policy "*" is this key; the account's IAM policies decide who uses it
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

# ---------------------------------------------------------------- blobs
resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_144:cross-region replication is a disaster-recovery choice of the team
  #checkov:skip=CKV_AWS_18:access logging needs a log bucket the team already runs
  #checkov:skip=CKV2_AWS_62:Shipyard does not consume bucket event notifications
  bucket = local.bucket
  tags   = local.tags
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.shipyard.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# ---------------------------------------------------------------- network
resource "aws_security_group" "data" {
  name        = "${var.name}-data"
  description = "PostgreSQL and Redis of Shipyard: reachable from the server and scheduler only"
  vpc_id      = var.vpc_id
  tags        = local.tags

  ingress {
    description     = "PostgreSQL from Shipyard"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }

  ingress {
    description     = "Redis from Shipyard"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

# ---------------------------------------------------------------- metadata (PostgreSQL)
resource "aws_db_subnet_group" "shipyard" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = local.tags
}

resource "aws_db_instance" "shipyard" {
  #checkov:skip=CKV_AWS_118:enhanced monitoring needs a monitoring role the team chooses
  #checkov:skip=CKV2_AWS_30:query logging is a tuning choice; errors and upgrades are exported
  identifier                          = var.name
  engine                              = "postgres"
  engine_version                      = var.db_engine_version
  instance_class                      = var.db_instance_class
  allocated_storage                   = var.db_allocated_storage
  max_allocated_storage               = var.db_allocated_storage * 10
  db_name                             = "shipyard"
  username                            = "shipyard"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.shipyard.arn
  db_subnet_group_name                = aws_db_subnet_group.shipyard.name
  vpc_security_group_ids              = [aws_security_group.data.id]
  publicly_accessible                 = false
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.shipyard.arn
  multi_az                            = var.db_multi_az
  backup_retention_period             = 14
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.shipyard.arn
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  tags                                = local.tags
}

# ---------------------------------------------------------------- online features (Redis)
resource "aws_elasticache_subnet_group" "shipyard" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = local.tags
}

resource "aws_elasticache_replication_group" "shipyard" {
  #checkov:skip=CKV_AWS_31:clients are limited by the security group; add an auth token or RBAC user group if the VPC is shared
  replication_group_id       = var.name
  description                = "Shipyard online feature store"
  engine                     = "redis"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.shipyard.name
  security_group_ids         = [aws_security_group.data.id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  kms_key_id                 = aws_kms_key.shipyard.arn
  snapshot_retention_limit   = 7
  auto_minor_version_upgrade = true
  tags                       = local.tags
}

# ---------------------------------------------------------------- the server's identity
data "aws_iam_policy_document" "server_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [for p in var.server_trusted_principals : p if !startswith(p, "arn:")]
    }
  }
  dynamic "statement" {
    for_each = length([for p in var.server_trusted_principals : p if startswith(p, "arn:")]) > 0 ? [1] : []
    content {
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = [for p in var.server_trusted_principals : p if startswith(p, "arn:")]
      }
    }
  }
}

resource "aws_iam_role" "server" {
  name               = "${var.name}-server"
  assume_role_policy = data.aws_iam_policy_document.server_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "server" {
  statement {
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.artifacts.arn]
  }
  statement {
    sid       = "ReadAndWriteBlobs"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.shipyard.arn]
  }
  statement {
    sid       = "ReadTheDatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.shipyard.master_user_secret[0].secret_arn]
  }
}

resource "aws_iam_role_policy" "server" {
  name   = "${var.name}-server"
  role   = aws_iam_role.server.id
  policy = data.aws_iam_policy_document.server.json
}
