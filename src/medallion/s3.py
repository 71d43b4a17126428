"""An S3 client for the stack's (or any S3-compatible) endpoint, from the standard variables.

``python -m medallion.s3 BUCKET`` creates the bucket unless it exists (the MinIO chart's bucket
Job runs it in the dbt image), reading ``S3_ENDPOINT``, ``S3_ACCESS_KEY``, ``S3_SECRET_KEY`` and
``S3_REGION`` from the environment.
"""

from __future__ import annotations

import os
import sys
import time
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


def ensure_bucket(client: Any, bucket: str) -> bool:
    """Create ``bucket`` unless it exists; True when this call created it."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        # Another run created it in between.
        if exc.response.get("Error", {}).get("Code") in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            return False
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    """Create the bucket(s) named on the command line, waiting up to ``--wait`` s for the server."""
    from botocore.exceptions import BotoCoreError, ClientError

    args = list(sys.argv[1:] if argv is None else argv)
    wait = 120.0
    if len(args) >= 2 and args[0] == "--wait":
        wait = float(args[1])
        args = args[2:]
    if not args:
        print("usage: python -m medallion.s3 [--wait SECONDS] BUCKET...", file=sys.stderr)
        return 2
    missing = [
        k
        for k in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION")
        if not os.environ.get(k)
    ]
    if missing:
        print(f"error: set {', '.join(missing)}", file=sys.stderr)
        return 2
    client = s3_client(os.environ)
    deadline = time.monotonic() + wait
    for bucket in args:
        while True:
            try:
                created = ensure_bucket(client, bucket)
                break
            except (BotoCoreError, ClientError) as exc:
                if time.monotonic() > deadline:
                    print(
                        f"error: bucket {bucket} on {os.environ['S3_ENDPOINT']}: {exc}",
                        file=sys.stderr,
                    )
                    return 1
                time.sleep(2)
        print(f"bucket {bucket}: {'created' if created else 'exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
