output "artifacts_uri" {
  description = "SHIPYARD_ARTIFACTS_URI: where the server keeps blobs."
  value       = "s3://${aws_s3_bucket.artifacts.bucket}/blobs"
}

output "bucket" {
  description = "The artifacts bucket (versioned, encrypted with the stack's KMS key)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "db_host" {
  description = "PostgreSQL host name."
  value       = aws_db_instance.shipyard.address
}

output "db_port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.shipyard.port
}

output "db_name" {
  description = "The database Shipyard uses."
  value       = aws_db_instance.shipyard.db_name
}

output "db_username" {
  description = "The database user."
  value       = aws_db_instance.shipyard.username
}

output "db_password_secret_arn" {
  description = "Secrets Manager secret holding the database password (rotated by RDS)."
  value       = aws_db_instance.shipyard.master_user_secret[0].secret_arn
}

output "online_store" {
  description = "SHIPYARD_ONLINE_STORE: the Redis online feature store (TLS)."
  value       = "rediss://${aws_elasticache_replication_group.shipyard.primary_endpoint_address}:6379/0"
}

output "server_role_arn" {
  description = "IAM role the server and scheduler run as (S3, KMS and the password secret)."
  value       = aws_iam_role.server.arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the bucket, the database and Redis."
  value       = aws_kms_key.shipyard.arn
}
