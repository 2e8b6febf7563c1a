"""Is an S3 bucket usable for `--s3upload`, asked before the run (not found out at its end)?"""

from __future__ import annotations


def bucket_problem(bucket: str) -> str | None:
    """None if the bucket answers HeadBucket with these credentials; else why not, in words."""
    import boto3
    import botocore.exceptions as bx
    from botocore.config import Config

    session = boto3.Session()
    if session.get_credentials() is None:
        return "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and friends)"
    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
    try:
        session.client("s3", config=config).head_bucket(Bucket=bucket)
    except bx.ClientError as exn:
        code = str(exn.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return f"bucket {bucket} does not exist"
        if code in ("403", "AccessDenied", "Forbidden"):
            return f"access to bucket {bucket} is denied with these credentials"
        return f"bucket {bucket} is not usable: {code or exn}"
    except bx.NoCredentialsError:
        return "no AWS credentials found"
    except bx.BotoCoreError as exn:
        return f"S3 cannot be reached: {exn}"
    return None
