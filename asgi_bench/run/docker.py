"""Sample a running container's CPU and memory through the Docker Engine API.

Used in targets mode (``docker-compose up bench``), where the servers run in their own
containers and the bench container cannot see their processes. The container is found by
its compose service label; the API is reached through the mounted Docker socket.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from typing import Any

from asgi_bench.run.samplers import Sampler

DOCKER_SOCKET = "/var/run/docker.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def docker_get(path: str, sock: str = DOCKER_SOCKET) -> Any:
    conn = _UnixConnection(sock)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError(f"Docker API {path}: HTTP {response.status} {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def find_container(service: str, sock: str = DOCKER_SOCKET) -> str | None:
    """The id of the running container of compose service ``service``, if any."""
    filters = json.dumps(
        {"label": [f"com.docker.compose.service={service}"], "status": ["running"]}
    )
    found = docker_get("/containers/json?filters=" + urllib.parse.quote(filters), sock)
    return found[0]["Id"] if found else None


class DockerSampler(Sampler):
    """CPU seconds and memory of one container, from its cgroup as Docker reports it."""

    def __init__(self, container: str, sock: str = DOCKER_SOCKET, interval: float = 0.5) -> None:
        super().__init__(interval, name=f"docker-{container[:12]}")
        self.container = container
        self.sock = sock

    def read(self) -> tuple[float, int, int, str] | None:
        try:
            stats = docker_get(
                f"/containers/{self.container}/stats?stream=false&one-shot=true", self.sock
            )
        except (OSError, ValueError):
            return None
        cpu_ns = stats.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage")
        memory = stats.get("memory_stats", {})
        if cpu_ns is None or "usage" not in memory:
            return None
        extra = memory.get("stats", {})
        # Page cache is not the server's memory: cgroup v2 says inactive_file, v1 total_.
        cache = extra.get("inactive_file", extra.get("total_inactive_file", 0))
        processes = stats.get("pids_stats", {}).get("current", 0)
        return cpu_ns / 1e9, max(0, memory["usage"] - cache), processes, "cgroup"
