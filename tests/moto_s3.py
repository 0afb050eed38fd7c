"""moto's S3 served over HTTP on 127.0.0.1: the one real S3 API the copy tests and the Celery campaign use.

moto's state lives in this process, so stopping its server and starting a new one on the same port is a
real outage-and-recovery of the S3 endpoint with the data kept, as with a restarted S3 gateway.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from moto.server import ThreadedMotoServer


class MotoS3:
    """moto's S3 served over HTTP on 127.0.0.1, stoppable and restartable on the same port."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def stop(self) -> None:
        """Stop serving and close the listening socket (clients then get 'connection refused')."""
        self._server.stop()
        server = self._server._server
        if server is not None:
            server.server_close()

    def restart(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def keys(self, bucket: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def objects(self, bucket: str) -> dict[str, bytes]:
        return {
            key: self.client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in self.keys(bucket)
        }

    def multipart_uploads(self, bucket: str) -> list[dict[str, Any]]:
        uploads: list[dict[str, Any]] = self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return uploads
