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
    body, digest = BODY, DIGEST

    def call(self, client: Any) -> int:
        answer = self.send(client, b"POST", "/upload", self.body)
        if json.loads(answer) != {"bytes": len(self.body), "sha256": self.digest}:
            raise WrongBody(f"server saw {answer[:100]!r}")
        return len(self.body)


class UploadUser(Upload, ClosedUser):
    pass


class UploadOpen(Upload, OpenUser):
    pass
