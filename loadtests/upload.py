"""Upload: POST a body to the streaming app's /upload and check the byte count and SHA-256.

``UPLOAD_BYTES`` sets the body size (default 256 KiB).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody

SIZE = int(os.environ.get("UPLOAD_BYTES", str(256 * 1024)))
BODY = os.urandom(SIZE)
DIGEST = hashlib.sha256(BODY).hexdigest()


class Upload(Requests):
    name = "/upload"
    request_type = "POST"

    def call(self, client: Any) -> int:
        body = self.send(client, b"POST", "/upload", BODY)
        if json.loads(body) != {"bytes": SIZE, "sha256": DIGEST}:
            raise WrongBody(f"server saw {body[:100]!r}")
        return SIZE


class UploadUser(Upload, ClosedUser):
    pass


class UploadOpen(Upload, OpenUser):
    pass
