"""A Docker Swarm of Docker-in-Docker nodes for the tests: one manager, two workers labelled
``mc.pool=sessions``, each engine on TCP with mutual TLS, and an image registry, on a network of
their own with fixed addresses (the engines' certificates name them).

Brought up once per run: ``scripts/test.sh`` starts it beside the other slow setup
(``python -m tests.swarm_harness up DIR``), points ``MC_TEST_SWARM`` at DIR and takes it down at the
end (``down DIR``); a test run without it brings up a cluster of its own (the ``swarm`` fixture).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 2376
DIND = ["--cap-add=ALL", "--cap-drop=SYS_RESOURCE", "--security-opt=seccomp=unconfined",
        "--security-opt=apparmor=unconfined", "--security-opt=systempaths=unconfined"]
LABEL = "mc.test-swarm"  # on every container and network of a cluster: its id


@dataclass
class Node:
    name: str  # the node container's name
    address: str
    role: str  # manager | worker

    @property
    def host(self) -> str:
        return f"tcp://{self.address}:{PORT}"


@dataclass
class Cluster:
    id: str
    certs: str  # ca.pem, cert.pem, key.pem: a client of every node's engine
    network: str
    registry: str  # address:port, plain HTTP inside the cluster's network
    nodes: list[Node] = field(default_factory=list)

    @property
    def manager(self) -> Node:
        return next(n for n in self.nodes if n.role == "manager")

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "worker"]

    def env(self, node: Node) -> dict[str, str]:
        """The docker client's environment for one node's engine."""
        return {"DOCKER_HOST": node.host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": self.certs}

    def docker(self, node: Node, *args: str, check: bool = True, timeout: float = 120,
               stdin: int | None = None) -> subprocess.CompletedProcess[str]:
        """``docker ARGS`` against one node's engine, over its mutual TLS."""
        return subprocess.run(["docker", "-H", node.host, "--tlsverify", f"--tlscacert={self.certs}/ca.pem",
                               f"--tlscert={self.certs}/cert.pem", f"--tlskey={self.certs}/key.pem", *args],
                              capture_output=True, text=True, check=check, timeout=timeout, stdin=stdin)

    def load(self, node: Node, *images: str) -> None:
        """Copy images of the host's engine into a node's (what a registry would do, minus the registry)."""
        saved = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
        try:
            subprocess.run(["docker", "exec", "-i", node.name, "docker", "load", "-q"], stdin=saved.stdout,
                           check=True, capture_output=True, timeout=300)
        finally:
            saved.wait(60)

    def save(self, directory: Path) -> None:
        (directory / "cluster.json").write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, directory: Path) -> Cluster:
        data = json.loads((directory / "cluster.json").read_text())
        return cls(**{**data, "nodes": [Node(**n) for n in data["nodes"]]})


def _issue(directory: Path, stem: str, cn: str, *, san: list | None = None, client: bool = False) -> None:
    """``STEMcert.pem``/``STEMkey.pem`` signed by the cluster's CA (made by the first call, its key
    beside ``directory``: never in a node)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key_path, ca_path = directory.parent / "ca-key.pem", directory / "ca.pem"
    pem = serialization.Encoding.PEM

    def build(name: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, ca: bool) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))

    def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
        path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        path.chmod(0o600)

    if not ca_key_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mc test swarm CA")])
        ca_path.write_bytes(build(ca_name, ca_name, ca_key, True).sign(ca_key, hashes.SHA256()).public_bytes(pem))
        write_key(ca_key_path, ca_key)
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    builder = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), ca_cert.subject, key, False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    (directory / f"{stem}cert.pem").write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(pem))
    write_key(directory / f"{stem}key.pem", key)


def _node_certificate(directory: Path, node: Node) -> None:
    from cryptography import x509

    _issue(directory, f"{node.name}-", node.name,
           san=[x509.DNSName(node.name), x509.IPAddress(ipaddress.ip_address(node.address))])


def _network(cluster_id: str) -> tuple[str, ipaddress.IPv4Network]:
    """A network of its own on a free /24 (fixed node addresses need a subnet)."""
    name = f"mc-swarm-{cluster_id}"
    for _ in range(20):
        subnet = ipaddress.ip_network(f"10.{random.randrange(160, 250)}.{random.randrange(0, 256)}.0/24")
        proc = subprocess.run(["docker", "network", "create", "--label", f"{LABEL}={cluster_id}", "--subnet",
                               str(subnet), name], capture_output=True, text=True)
        if proc.returncode == 0:
            return name, subnet
        if "overlap" not in proc.stderr:
            raise RuntimeError(f"cannot create {name}: {proc.stderr.strip()}")
    raise RuntimeError("no free subnet for the swarm's network")


def up(directory: Path, workers: int = 2) -> Cluster:
    """Build the images, start the nodes and the registry, form the swarm. Returns once every node
    is ready; what it started is removed again if any step fails."""
    from tests.conftest import build_test_image

    directory.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:  # (built once per content; a second run finds them)
        node_image, registry_image = pool.map(lambda a: build_test_image(ROOT / a[0], a[1]),
                                              [("build/node", "node"), ("tests/registry", "registry")])
    cluster_id = secrets.token_hex(4)
    network, subnet = _network(cluster_id)
    hosts = list(subnet.hosts())
    nodes = [Node(f"mc-swarm-{cluster_id}-{role}{i}", str(hosts[10 + i]), role)
             for i, role in enumerate(["manager", *["worker"] * workers])]
    cluster = Cluster(cluster_id, str(directory / "client"), network, f"{hosts[4]}:5000", nodes)
    try:
        (directory / "client").mkdir(exist_ok=True)
        _issue(directory / "client", "", "mc test client", client=True)
        subprocess.run(["docker", "run", "-d", "--name", f"mc-swarm-{cluster_id}-registry", "--label",
                        f"{LABEL}={cluster_id}", "--network", network, "--ip", str(hosts[4]), "--pull=never",
                        registry_image], check=True, capture_output=True)
        for node in nodes:
            _start_node(cluster, directory, node, node_image)
        for node in nodes:
            _wait_ready(cluster, node)
        manager = cluster.manager
        # Swarm marks a node down 2-3 heartbeats after its last (measured: 5 s -> 12-13 s, 6 s -> 13-16 s,
        # 8 s -> 16-21 s) and then shuts its tasks down for good, even when it comes back: 10 s rides
        # out a 15 s stall. mcd tells a node that is gone (no TCP answer) sooner by itself.
        cluster.docker(manager, "swarm", "init", "--advertise-addr", manager.address, "--dispatcher-heartbeat", "10s")
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(lambda w: _join(cluster, w, "sessions"), cluster.workers))
        cluster.save(directory)
        return cluster
    except BaseException:
        down_by_id(cluster_id)
        raise


def _start_node(cluster: Cluster, directory: Path, node: Node, image: str) -> None:
    _node_certificate(directory / "client", node)
    args = (f"--tlsverify --tlscacert=/certs/ca.pem --tlscert=/certs/{node.name}-cert.pem "
            f"--tlskey=/certs/{node.name}-key.pem -H unix:///var/run/docker.sock -H tcp://0.0.0.0:{PORT} "
            f"--insecure-registry={cluster.registry}")
    subprocess.run(["docker", "run", "-d", "--name", node.name, "--hostname", node.name, "--label",
                    f"{LABEL}={cluster.id}", "--network", cluster.network, "--ip", node.address, *DIND,
                    "-v", f"{directory / 'client'}:/certs:ro", "-v", "/var/lib/docker",
                    "-e", f"DOCKERD_ARGS={args}", "--pull=never", image], check=True, capture_output=True)


def _join(cluster: Cluster, node: Node, pool: str) -> None:
    manager = cluster.manager
    token = cluster.docker(manager, "swarm", "join-token", "-q", "worker").stdout.strip()
    cluster.docker(node, "swarm", "join", "--token", token, f"{manager.address}:2377")
    # by its id (a removed node of the same name may still be listed), once the manager lists it
    node_id = cluster.docker(node, "info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    deadline = time.monotonic() + 30
    while (proc := cluster.docker(manager, "node", "update", "--label-add", f"mc.pool={pool}", node_id,
                                  check=False)).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"node {node.name} ({node_id}) could not be labelled: {proc.stderr.strip()}")
        time.sleep(0.5)


def add_worker(cluster: Cluster, directory: Path, pool: str) -> Node:
    """One more worker, in a pool of its own (a test that kills it touches no other test's sessions)."""
    from tests.conftest import build_test_image

    image = build_test_image(ROOT / "build" / "node", "node")
    hosts = list(ipaddress.ip_network(cluster.registry.split(":")[0] + "/24", strict=False).hosts())
    for _ in range(10):  # (tests add workers side by side: an address taken meanwhile, try another)
        address = random.choice(hosts[20:250])
        node = Node(f"mc-swarm-{cluster.id}-x{address.packed[-1]}", str(address), "worker")
        try:
            _start_node(cluster, directory, node, image)
            break
        except subprocess.CalledProcessError as exc:
            if b"Conflict" not in (exc.stderr or b""):  # (a name taken is another test's node)
                subprocess.run(["docker", "rm", "-f", "-v", node.name], capture_output=True)
    else:
        raise RuntimeError("no free address for another worker")
    _wait_ready(cluster, node)
    _join(cluster, node, pool)
    return node


def _wait_ready(cluster: Cluster, node: Node, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        proc = cluster.docker(node, "version", "--format", "{{.Server.Version}}", check=False, timeout=10)
        if proc.returncode == 0:
            return
        if time.monotonic() > deadline:
            logs = subprocess.run(["docker", "logs", "--tail", "20", node.name], capture_output=True, text=True)
            raise RuntimeError(f"node {node.name} did not start: {proc.stderr.strip()}\n{logs.stderr}")
        time.sleep(0.3)


def down_by_id(cluster_id: str) -> None:
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL}={cluster_id}"], capture_output=True,
                         text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
    subprocess.run(["docker", "network", "rm", f"mc-swarm-{cluster_id}"], capture_output=True)


def down(directory: Path) -> None:
    if (directory / "cluster.json").exists():
        down_by_id(Cluster.read(directory).id)


if __name__ == "__main__":  # python -m tests.swarm_harness up|down DIR
    verb, where = sys.argv[1], Path(sys.argv[2])
    if verb == "up":
        started = time.monotonic()
        print(f"swarm: {len(up(where).nodes)} nodes up in {time.monotonic() - started:.1f}s", file=sys.stderr)
    else:
        down(where)
