"""Storage backends: remote specs and options, the folder backend, fsspec (S3, GCS)."""
