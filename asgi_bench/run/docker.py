"""The Docker Engine API, through the mounted socket: a container's CPU and memory, and
commands run in it (``--profile``'s py-spy, :mod:`asgi_bench.run.container_profile`).

Used in targets mode (``docker-compose up bench``), where the servers run in their own
containers and the bench container cannot see their processes. The container is found by
its compose service label.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
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


def docker_request(
    method: str, path: str, body: Any = None, sock: str = DOCKER_SOCKET, timeout: float = 5.0
) -> bytes:
    """One call to the Docker Engine API; its body, or OSError naming the call."""
    conn = _UnixConnection(sock, timeout)
    try:
        payload = None if body is None else json.dumps(body)
        headers = {} if body is None else {"Content-Type": "application/json"}
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        data = response.read()
        if response.status not in (200, 201, 204):
            raise OSError(f"Docker API {path}: HTTP {response.status} {data[:200]!r}")
        return data
    finally:
        conn.close()


def docker_get(path: str, sock: str = DOCKER_SOCKET) -> Any:
    return json.loads(docker_request("GET", path, sock=sock))


def docker_exec(container: str, argv: list[str], sock: str = DOCKER_SOCKET) -> str:
    """Start ``argv`` in ``container`` as its root (who holds the capabilities compose gave
    it), detached; the exec's id, for :func:`exec_running`."""
    made = docker_request(
        "POST", f"/containers/{container}/exec", {"Cmd": argv, "User": "root"}, sock
    )
    exec_id: str = json.loads(made)["Id"]
    docker_request("POST", f"/exec/{exec_id}/start", {"Detach": True}, sock)
    return exec_id


def exec_running(exec_id: str, sock: str = DOCKER_SOCKET) -> bool:
    return bool(docker_get(f"/exec/{exec_id}/json", sock).get("Running"))


def container_files(container: str, folder: str, sock: str = DOCKER_SOCKET) -> dict[str, bytes]:
    """The files of ``folder`` in ``container`` (not below it), by name, through the API's
    tar archive of it."""
    quoted = urllib.parse.quote(folder)
    data = docker_request("GET", f"/containers/{container}/archive?path={quoted}", sock=sock)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is not None:
                files[member.name.rsplit("/", 1)[-1]] = extracted.read()
    return files


def capabilities(container: str, sock: str = DOCKER_SOCKET) -> set[str]:
    """The capabilities compose added to ``container`` (``cap_add``), as SYS_PTRACE; every
    one where it is privileged."""
    host = docker_get(f"/containers/{container}/json", sock).get("HostConfig", {})
    if host.get("Privileged"):
        return {"ALL"}
    return {str(cap).removeprefix("CAP_") for cap in host.get("CapAdd") or ()}


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
