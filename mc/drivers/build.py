"""Build driver images, tagged by a hash of everything that goes into them.

A driver's image is ``mc-driver-NAME:HASH``. HASH covers the driver directory, the shared
``mc-init.sh`` and helpers, and the extra CA certificates, so a changed driver rebuilds on next
use and an unchanged one never does.

The build context is the driver directory plus ``.mc/``: mc's shared files and, when configured,
the CA bundle. mc rewrites the Dockerfile on the way: after every ``FROM`` it trusts the extra CAs
(so pip and npm work behind TLS-intercepting proxies), and at the end it installs the shared files
and makes ``mc-init.sh`` the entrypoint. A plain Dockerfile therefore becomes a working driver.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from mc.config.paths import cache_dir
from mc.docker import Docker
from mc.docker.errors import first_line
from mc.drivers.registry import SHARED_FILES, Driver, builtin_dir
from mc.errors import InvalidArgument, McError

BUILD_FORMAT = "1"  # bump when the Dockerfile rewrite changes
CA_DIR = "/usr/local/share/mc-ca"
CA_BUNDLE = f"{CA_DIR}/bundle.pem"
CA_ENV = ("SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
          "GIT_SSL_CAINFO")
_FROM = re.compile(r"^\s*FROM\s", re.IGNORECASE)
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def extra_ca_paths(configured: list[str]) -> list[Path]:
    """Certificates named by MC_EXTRA_CA_CERTS (':'-separated) and docker.extra_ca_certs."""
    names = [p for p in os.environ.get("MC_EXTRA_CA_CERTS", "").split(":") if p] + list(configured)
    found: list[Path] = []
    for name in names:
        path = Path(name).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.glob("*.crt") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise McError(f"extra CA certificate {path} does not exist (MC_EXTRA_CA_CERTS / docker.extra_ca_certs)")
    return found


def ca_bundle(extra: list[Path]) -> bytes:
    """The system roots plus the extra CAs, or nothing when there are no extras."""
    if not extra:
        return b""
    parts = []
    for system in _SYSTEM_BUNDLES:
        if os.path.isfile(system):
            parts.append(Path(system).read_bytes())
            break
    parts += [p.read_bytes() for p in extra]
    return b"\n".join(part.rstrip(b"\n") for part in parts) + b"\n"


def content_hash(driver: Driver, extra_ca: list[Path]) -> str:
    """The hash of everything that goes into the driver's image (remembered until a file changes)."""
    from mc.drivers.memo import remember, walk

    shared = builtin_dir()
    files = [*walk(driver.path), *(shared / n for n in SHARED_FILES), *extra_ca]
    if extra_ca:
        files += [Path(p) for p in _SYSTEM_BUNDLES]
    return remember("hash", f"{driver.path}\0{driver.name}", files,
                    lambda: _content_hash(driver, ca_bundle(extra_ca)))


def _content_hash(driver: Driver, bundle: bytes) -> str:
    from mc.drivers.memo import walk

    h = hashlib.sha256(f"format={BUILD_FORMAT}\n".encode())
    for path in walk(driver.path):
        rel = path.relative_to(driver.path).as_posix()
        if path.is_symlink():  # the image gets the link itself
            h.update(f"{rel}\0link\0{os.readlink(path)}\0".encode())
            continue
        h.update(f"{rel}\0{os.access(path, os.X_OK)}\0".encode())
        h.update(path.read_bytes())
    shared = builtin_dir()
    for name in SHARED_FILES:
        h.update(f"shared/{name}\0".encode())
        h.update((shared / name).read_bytes())
    h.update(b"ca\0" + bundle)
    return h.hexdigest()[:12]


def image_tag(driver: Driver, extra_ca: list[Path]) -> str:
    return f"mc-driver-{driver.name}:{content_hash(driver, extra_ca)}"


def rewrite_dockerfile(text: str, with_ca: bool, shared: bool = True) -> str:
    """After every ``FROM`` trust the extra CAs; with ``shared``, end with mc's session files and
    ``mc-init.sh`` as the entrypoint (a driver), else leave the image's own (a helper image)."""
    out: list[str] = []
    ca_lines = [
        f"COPY .mc/ca/ {CA_DIR}/",
        "ENV " + " ".join(f"{var}={CA_BUNDLE}" for var in CA_ENV),
    ]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        if _FROM.match(line):
            while line.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                line = lines[i]
                out.append(line)
            if with_ca:
                out += ca_lines
        i += 1
    if not shared:
        return "\n".join(out) + "\n"
    out += [
        "",
        "# --- added by mc: the shared session init and helpers ---",
        "USER root",
        *(f"COPY .mc/{name} {target}" for name, target in SHARED_FILES.items()),
        "COPY .mc/driver.env /etc/mc/driver.env",
        "RUN mkdir -p /app /mc-config && chmod 0755 " + " ".join(SHARED_FILES.values()),
        "WORKDIR /app",
        'ENTRYPOINT ["/mc-init.sh"]',
        "CMD []",
    ]
    return "\n".join(out) + "\n"


def driver_env(driver: Driver) -> str:
    """Static facts about the driver that mc-init.sh reads (sourced as shell)."""
    m = driver.manifest
    configs = ";".join(f"{p.source}|{p.target}|{p.type}" for p in m.persistent_configs)
    pre = "" if m.pre_command.endswith("mc-init.sh") else m.pre_command
    values = {
        "MC_DRIVER": driver.name,
        "MC_DRIVER_PERSISTENT": configs,
        "MC_DRIVER_PRE_COMMAND": pre,
        "MC_DRIVER_COMMAND": m.command,
    }
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


@contextlib.contextmanager
def _build_lock(tag: str) -> Iterator[None]:
    lock_dir = cache_dir() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / (tag.replace(":", "_").replace("/", "_") + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_links(driver: Driver) -> None:
    """Symbolic links stay links in the build context, and may only point inside the driver: a
    driver from elsewhere must not pull ``~/.ssh`` or other host files into an image."""
    from mc.drivers.memo import walk

    root = driver.path.resolve()
    for path in walk(driver.path):
        if path.is_symlink():
            target = (path.parent / os.readlink(path)).resolve()
            if target != root and root not in target.parents:
                raise InvalidArgument(f"driver '{driver.name}': {path} links outside the driver directory "
                                      f"(to {target}); copy what it needs into the directory instead")


def image_exists(docker: Docker, tag: str) -> bool:
    return docker.run("image", "inspect", "--format", "{{.Id}}", tag, check=False).returncode == 0


BUILD_TIMEOUT = 1800.0  # a build that takes longer is stuck (it holds the driver's build lock)


def build(
    docker: Docker,
    driver: Driver,
    extra_ca: list[Path],
    *,
    no_cache: bool = False,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    timeout: float = BUILD_TIMEOUT,
) -> str:
    """Build the driver's image unless it exists; return its tag. Output lines go to ``progress``."""
    tag = image_tag(driver, extra_ca)
    with _build_lock(tag):
        if not force and not no_cache and image_exists(docker, tag):
            return tag
        check_links(driver)
        with tempfile.TemporaryDirectory(prefix="mc-build-") as tmp:
            context = Path(tmp) / "context"
            shutil.copytree(driver.path, context, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            dot = context / ".mc"
            dot.mkdir(exist_ok=True)
            shared = builtin_dir()
            for name in SHARED_FILES:
                shutil.copy2(shared / name, dot / name)
                os.chmod(dot / name, 0o755)
            (dot / "driver.env").write_text(driver_env(driver))
            bundle = ca_bundle(extra_ca)
            if bundle:
                (dot / "ca").mkdir()
                (dot / "ca" / "bundle.pem").write_bytes(bundle)
            dockerfile = context / ".mc" / "Dockerfile"
            dockerfile.write_text(rewrite_dockerfile((driver.path / "Dockerfile").read_text(), bool(bundle)))
            # --force-rm: a step that fails leaves no stopped container behind
            args = ["build", "--force-rm", "-f", str(dockerfile), "-t", tag, "--label", f"mc.driver={driver.name}",
                    "--label", f"mc.driver.hash={tag.rsplit(':', 1)[1]}"]
            from mc.drivers.images import MANIFEST_LABEL, label_text

            args += ["--label", f"{MANIFEST_LABEL}={label_text(driver.path / 'mc-driver.yaml', driver.name)}"]
            if no_cache:
                args.append("--no-cache")
            args.append(str(context))
            if progress:
                progress(f"mc: building driver '{driver.name}' ({tag}); first use only\n")
            _run_build(docker, args, driver.name, progress, timeout)
        return tag


def helper_tag(directory: Path, repository: str, extra_ca: list[Path]) -> str:
    """``REPOSITORY:HASH`` of one of mc's own images: the directory's content and the CAs."""
    from mc.drivers.memo import walk

    digest = hashlib.sha256(BUILD_FORMAT.encode() + ca_bundle(extra_ca))
    for path in sorted(walk(directory)):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return f"{repository}:{digest.hexdigest()[:12]}"


def build_helper(docker: Docker, directory: Path, repository: str, extra_ca: list[Path], *,
                 progress: Callable[[str], None] | None = None, timeout: float = BUILD_TIMEOUT) -> str:
    """An image of mc's own (not a driver: its entrypoint is its own), ``REPOSITORY:HASH`` of the
    directory and the CAs, built once under the same lock as drivers."""
    bundle = ca_bundle(extra_ca)
    tag = helper_tag(directory, repository, extra_ca)
    with _build_lock(tag):
        if image_exists(docker, tag):
            return tag
        with tempfile.TemporaryDirectory(prefix="mc-build-") as tmp:
            context = Path(tmp) / "context"
            shutil.copytree(directory, context)
            (context / ".mc").mkdir(exist_ok=True)
            if bundle:
                (context / ".mc" / "ca").mkdir()
                (context / ".mc" / "ca" / "bundle.pem").write_bytes(bundle)
            dockerfile = context / ".mc" / "Dockerfile"
            text = (directory / "Dockerfile").read_text()
            dockerfile.write_text(rewrite_dockerfile(text, bool(bundle), shared=False))
            if progress:
                progress(f"mc: building {repository} ({tag}); first use only\n")
            _run_build(docker, ["build", "--force-rm", "-f", str(dockerfile), "-t", tag, "--label",
                                f"mc.helper={repository}", str(context)], repository, progress, timeout)
    return tag


def _run_build(docker: Docker, args: list[str], name: str, progress: Callable[[str], None] | None,
               timeout: float) -> None:
    import subprocess
    import threading

    proc = docker.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                        extra_env={"DOCKER_BUILDKIT": "0"})
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    assert proc.stdout is not None
    tail: list[str] = []
    try:
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            tail = [*tail, line][-30:]
            if progress:
                progress(line)
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0:
        if rc == -9 and not any(ln.strip() for ln in tail[-1:]):
            raise McError(f"docker build: building driver '{name}' took longer than {timeout:.0f}s; stopped")
        last = next((ln.strip() for ln in reversed(tail) if ln.strip()), "")
        raise McError(f"docker build: building driver '{name}' failed: {first_line(last) or 'see the output above'}")
