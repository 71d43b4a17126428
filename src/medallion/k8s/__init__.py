"""Kubernetes side of medallion: trigger layer runs, report status, submit silver's SparkApplication."""
