"""The Kubernetes manifests in deploy/k8s, checked offline: no cluster, no network.

Every document is validated, with unknown fields rejected (strict), against the Kubernetes
API schemas that the ``kubernetes-validate`` package ships, for one fixed Kubernetes
version. The rest keeps the manifests honest with docker-compose.yml: same image, the same
commands, ports and names that agree with each other.
"""

from __future__ import annotations

import copy
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml  # no types-PyYAML in the dev extra

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "deploy" / "k8s"
# The Kubernetes version whose API schemas the manifests must satisfy; README.md says so.
K8S_VERSION = "1.37"
NAMESPACE = "asgi-bench"
IMAGE = "asgi-bench:latest"
KUSTOMIZATION = "kustomization.yaml"
WORKLOAD_KINDS = {"Deployment", "Job", "Pod"}

Manifest = dict[str, Any]


def manifest_files() -> list[Path]:
    """Every YAML file under deploy/k8s, the hand-applied tools/ included."""
    return sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml"))


def documents(path: Path) -> list[Manifest]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def resources() -> list[tuple[Path, Manifest]]:
    """Every Kubernetes object (the Kustomization is kustomize's, not the API's)."""
    return [
        (path, doc)
        for path in manifest_files()
        if path.name != KUSTOMIZATION
        for doc in documents(path)
    ]


def label(path: Path, doc: Manifest) -> str:
    return f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}"


RESOURCES = resources()


def find(kind: str, name: str) -> Manifest:
    found = [d for _, d in RESOURCES if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(doc: Manifest) -> Manifest:
    spec: Manifest = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
    return spec


def containers(doc: Manifest) -> Iterator[Manifest]:
    spec = pod_spec(doc)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def workloads() -> list[Manifest]:
    return [d for _, d in RESOURCES if d["kind"] in WORKLOAD_KINDS]


def main_command(name: str, kind: str = "Deployment") -> list[str]:
    command: list[str] = pod_spec(find(kind, name))["containers"][0]["command"]
    return command


def flag(command: list[str], name: str) -> str:
    assert name in command, f"{name} missing from {shlex.join(command)}"
    return command[command.index(name) + 1]


def compose() -> Manifest:
    loaded: Manifest = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


# --- the API schemas -------------------------------------------------------------------


def test_the_pinned_kubernetes_version_is_shipped():
    shipped = {v.rsplit(".", 1)[0] for v in kubernetes_validate.utils.all_versions()}
    assert K8S_VERSION in shipped, (
        f"kubernetes-validate {kubernetes_validate.__version__} ships schemas for "
        f"{sorted(shipped)}, not {K8S_VERSION}: upgrade it"
    )


def test_there_is_something_to_validate():
    kinds = {d["kind"] for _, d in RESOURCES}
    assert {
        "Namespace",
        "Deployment",
        "Service",
        "Job",
        "PersistentVolumeClaim",
        "ConfigMap",
    } <= kinds


@pytest.mark.parametrize("doc", [d for _, d in RESOURCES], ids=[label(*r) for r in RESOURCES])
def test_manifest_is_valid(doc: Manifest):
    validated = kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert validated == K8S_VERSION


def test_the_validator_rejects_a_misspelled_field():
    deployment = copy.deepcopy(find("Deployment", "asgi-bench-uvicorn"))
    spec = deployment["spec"]["template"]["spec"]
    spec["contaners"] = spec.pop("containers")
    with pytest.raises(kubernetes_validate.ValidationError, match="contaners"):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_wrong_type():
    job = copy.deepcopy(find("Job", "asgi-bench-bench"))
    job["spec"]["backoffLimit"] = "none"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)


# --- kustomize -------------------------------------------------------------------------


def test_kustomization_lists_every_manifest_in_the_folder():
    kustomization = documents(K8S / KUSTOMIZATION)[0]
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == NAMESPACE
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    on_disk = {p.name for p in K8S.glob("*.y*ml") if p.name != KUSTOMIZATION}
    assert set(listed) == on_disk


def test_kustomize_builds_every_listed_resource():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    # `kubectl kustomize` renders local files only: no cluster, no kubeconfig.
    out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    built = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out.stdout) if d}
    listed = {
        (d["kind"], d["metadata"]["name"])
        for name in documents(K8S / KUSTOMIZATION)[0]["resources"]
        for d in documents(K8S / name)
    }
    assert built == listed


# --- honest with docker-compose.yml ----------------------------------------------------


def test_everything_is_in_the_namespace():
    find("Namespace", NAMESPACE)
    for path, doc in RESOURCES:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, label(path, doc)


def test_the_image_is_composes_everywhere_but_prometheus():
    services = compose()["services"]
    assert services["bench"]["image"] == IMAGE
    for doc in workloads():
        for container in containers(doc):
            if doc["metadata"]["name"] == "asgi-bench-prometheus":
                assert container["image"] == services["prometheus"]["image"]
            else:
                assert container["image"] == IMAGE, doc["metadata"]["name"]
                # :latest would mean Always: a locally loaded image would never be used
                assert container["imagePullPolicy"] == "IfNotPresent"


def test_every_container_has_resources():
    for doc in workloads():
        for container in containers(doc):
            where = f"{doc['metadata']['name']}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][kind].keys(), where


def test_the_server_is_composes_uvicorn_with_a_whole_cpu():
    command = main_command("asgi-bench-uvicorn")
    assert command[:4] == ["asgi-bench", "serve", "uvicorn", "all"]
    assert flag(command, "--host") == "0.0.0.0"
    port = int(flag(command, "--port"))
    compose_command = shlex.split(compose()["services"]["uvicorn"]["command"])
    assert port == int(flag(compose_command, "--port")) == 8001

    (container,) = pod_spec(find("Deployment", "asgi-bench-uvicorn"))["containers"]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert container["readinessProbe"]["httpGet"]["path"] == "/hello/"
    assert container["livenessProbe"]["httpGet"]["path"] == "/metrics"
    # Guaranteed QoS: requests == limits for cpu and memory; a whole CPU per server worker.
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"]["cpu"] == flag(command, "--workers") == "1"
    assert find("Deployment", "asgi-bench-uvicorn")["spec"]["replicas"] == 1

    service = find("Service", "asgi-bench-uvicorn")
    assert [p["port"] for p in service["spec"]["ports"]] == [port]


def test_the_bench_targets_the_server_service_through_remote_workers():
    command = main_command("asgi-bench-bench", kind="Job")
    assert command[:2] == ["asgi-bench", "run"]
    assert "--remote-targets" in command
    assert "--quick" in command
    assert flag(command, "--out") == "/results"
    server, url = flag(command, "--targets").split("=", 1)
    target = urlsplit(url)
    assert server == "uvicorn"
    assert target.hostname == "asgi-bench-uvicorn"
    assert target.port == find("Service", "asgi-bench-uvicorn")["spec"]["ports"][0]["port"]

    workers = find("Deployment", "asgi-bench-worker")
    assert int(flag(command, "--expect-workers")) == workers["spec"]["replicas"] == 2
    assert flag(command, "--master-bind") == "0.0.0.0"
    master_port = int(flag(command, "--master-port"))
    ports = {p["port"] for p in find("Service", "asgi-bench-bench")["spec"]["ports"]}
    assert {master_port, 5558} <= ports


def test_the_bench_is_a_bounded_job_writing_to_the_results_claim():
    job = find("Job", "asgi-bench-bench")
    assert job["spec"]["backoffLimit"] == 0
    assert 0 < job["spec"]["activeDeadlineSeconds"] <= 3600
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    # The image runs as uid 1000 (Dockerfile: USER bench): it must own the fresh volume.
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsUser"] == 1000
    (volume,) = [v for v in spec["volumes"] if v["name"] == "results"]
    claim = find("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["metadata"]["name"] == "asgi-bench-results"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    mounts = spec["containers"][0]["volumeMounts"]
    assert {"name": "results", "mountPath": "/results"} in mounts


def test_the_results_reader_mounts_the_same_claim():
    reader = find("Pod", "asgi-bench-results-reader")
    (volume,) = pod_spec(reader)["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == "asgi-bench-results"
    assert reader["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] == "/results"


def test_the_workers_connect_to_the_bench_service_away_from_the_server():
    command = main_command("asgi-bench-worker")
    assert command[:3] == ["asgi-bench", "worker", "--master"]
    host, port = flag(command, "--master").rsplit(":", 1)
    bench = main_command("asgi-bench-bench", kind="Job")
    assert host == find("Service", "asgi-bench-bench")["metadata"]["name"]
    assert int(port) == int(flag(bench, "--master-port"))

    anti = pod_spec(find("Deployment", "asgi-bench-worker"))["affinity"]["podAntiAffinity"]
    avoided = {
        term["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for term in anti["preferredDuringSchedulingIgnoredDuringExecution"]
        if term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    }
    assert avoided == {"server", "worker"}


def test_every_service_selects_the_pods_of_a_workload():
    templates = [
        (d["metadata"] if d["kind"] == "Pod" else d["spec"]["template"]["metadata"])["labels"]
        for d in workloads()
    ]
    for _, service in [(p, d) for p, d in RESOURCES if d["kind"] == "Service"]:
        selector = service["spec"]["selector"].items()
        matched = [labels for labels in templates if selector <= labels.items()]
        assert len(matched) == 1, service["metadata"]["name"]


def test_deployments_select_their_own_template():
    for doc in workloads():
        if doc["kind"] == "Deployment":
            selector = doc["spec"]["selector"]["matchLabels"].items()
            assert selector <= doc["spec"]["template"]["metadata"]["labels"].items()


def test_labels_are_consistent():
    for path, doc in RESOURCES:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "asgi-bench", label(path, doc)
        assert labels["app.kubernetes.io/part-of"] == "asgi-bench", label(path, doc)
        if doc["kind"] in WORKLOAD_KINDS - {"Pod"}:
            template = doc["spec"]["template"]["metadata"]["labels"]
            assert labels.items() <= template.items(), label(path, doc)


def prometheus_config() -> Manifest:
    text = find("ConfigMap", "asgi-bench-prometheus")["data"]["prometheus.yml"]
    loaded: Manifest = yaml.safe_load(text)
    return loaded


def test_prometheus_scrapes_the_server_every_two_seconds_like_compose():
    config = prometheus_config()
    composed = yaml.safe_load((REPO / "dashboards" / "prometheus.yml").read_text())
    assert config["global"] == composed["global"]
    assert config["global"]["scrape_interval"] == "2s"
    (job,) = config["scrape_configs"]
    (compose_job,) = [j for j in composed["scrape_configs"] if j["job_name"] == job["job_name"]]
    assert job["metrics_path"] == compose_job["metrics_path"] == "/metrics"
    (static,) = job["static_configs"]
    service = find("Service", "asgi-bench-uvicorn")
    assert static["targets"] == [f"{service['metadata']['name']}:8001"]
    assert static["labels"] == {"config": "uvicorn"}

    command = shlex.split(compose()["services"]["prometheus"]["command"])
    args = pod_spec(find("Deployment", "asgi-bench-prometheus"))["containers"][0]["args"]
    assert args[0] == command[0] == "--config.file=/etc/prometheus/prometheus.yml"


def test_promtool_accepts_the_configmaps_config(tmp_path: Path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (CI installs Debian's prometheus)")
    config = tmp_path / "prometheus.yml"
    config.write_text(find("ConfigMap", "asgi-bench-prometheus")["data"]["prometheus.yml"])
    out = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
