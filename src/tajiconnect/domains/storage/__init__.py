"""Files: one storage service over the local filesystem or S3, tenant-prefixed keys, signed expiring URLs."""
