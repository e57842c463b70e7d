"""Upload: POST a body to the streaming app's /upload and check the byte count and SHA-256.

``UPLOAD_BYTES`` sets the body size (default 256 KiB).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from locust import constant, task

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.support import WrongBody, json_answer

SIZE = int(os.environ.get("UPLOAD_BYTES", str(256 * 1024)))
BODY = os.urandom(SIZE)
DIGEST = hashlib.sha256(BODY).hexdigest()


class UploadUser(ClosedUser):
    wait_time = constant(0)

    @task
    def upload(self) -> None:
        with self.client.post(
            "/upload",
            data=BODY,  # type: ignore[arg-type]  # bytes are sent as they are
            name="/upload",
            catch_response=True,
        ) as r:
            answer = json_answer(r)
            if answer is not None and answer != {"bytes": SIZE, "sha256": DIGEST}:
                r.failure(WrongBody(f"server saw {answer!r:.100}"))


class UploadOpen(OpenUser):
    name = "/upload"
    request_type = "POST"

    def call(self, client: Any) -> int:
        body = self.send(client, b"POST", "/upload", BODY)
        if json.loads(body) != {"bytes": SIZE, "sha256": DIGEST}:
            raise WrongBody(f"server saw {body[:100]!r}")
        return SIZE
