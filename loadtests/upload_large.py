"""Upload, large: POST 20 MiB to the streaming app's /upload, which reads it chunk by chunk
through ``receive()`` and hashes it; the byte count and SHA-256 are checked."""

from __future__ import annotations

import hashlib
import os

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.upload import Upload

LARGE = os.urandom(20 << 20)


class UploadLarge(Upload):
    body, digest = LARGE, hashlib.sha256(LARGE).hexdigest()


class UploadLargeUser(UploadLarge, ClosedUser):
    pass


class UploadLargeOpen(UploadLarge, OpenUser):
    pass
