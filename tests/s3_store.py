"""A real S3 endpoint for tests: moto in server mode on a free port of this process (its state lives
here, workers in other processes reach it over HTTP), a fresh bucket per test, and the environment
that points Engage's run files store at it (ENGAGE_ARTIFACTS_URL=s3://..., dummy AWS credentials).

Import the fixtures into a test module: `from tests.s3_store import moto_endpoint, s3_store  # noqa: F401`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from engage_reflex.settings import get_settings

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_SESSION_TOKEN": "testing"}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                        region_name=CREDENTIALS["AWS_DEFAULT_REGION"])


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    """Every key in the bucket, read with plain boto3 (not through the code under test)."""
    client, keys, token = s3_client(endpoint), [], None
    while True:
        page = client.list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
        keys += [item["Key"] for item in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return keys
        token = page["NextContinuationToken"]


@pytest.fixture
def s3_store(moto_endpoint, monkeypatch) -> Iterator[dict[str, str]]:
    """A fresh bucket; the environment (and Settings) name s3://<bucket>/engage as the run files store."""
    bucket = f"engage-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENGAGE_ARTIFACTS_URL", f"s3://{bucket}/engage")
    monkeypatch.setenv("ENGAGE_ARTIFACTS_ENDPOINT_URL", moto_endpoint)
    get_settings.cache_clear()
    yield {"bucket": bucket, "prefix": "engage", "endpoint": moto_endpoint}
    get_settings.cache_clear()
