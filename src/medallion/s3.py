"""An S3 client for the stack's (or any S3-compatible) endpoint, from the standard variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def s3_client(env: Mapping[str, str]) -> Any:
    """boto3 S3 client for ``S3_ENDPOINT`` with path-style addressing (MinIO, versitygw, AWS)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT"],
        aws_access_key_id=env["S3_ACCESS_KEY"],
        aws_secret_access_key=env["S3_SECRET_KEY"],
        region_name=env["S3_REGION"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )
