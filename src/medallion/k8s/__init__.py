"""Kubernetes side of medallion: trigger layer runs, show status, submit silver to Spark."""
