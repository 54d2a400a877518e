"""Turn a session plan into a running container: the only docker calls of ``create``.

One ``docker run -d`` when nothing must happen before the start; otherwise ``create``, then join
the extra networks, copy the secrets in (a tar on stdin: never argv, never ``docker inspect``), and
``start``. A missing image is built and a missing mc network created, and the call retried. On any
failure nothing is left behind: the container is removed, and a config directory made for it.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from mc.docker import Docker, DockerError
from mc.docker.errors import ImageMissing, NetworkMissing
from mc.docker.runner import Attached
from mc.engine import sidecars
from mc.engine.environment import secrets_tar
from mc.engine.networks import ensure_network
from mc.engine.plan import SessionPlan
from mc.engine.sidecars import HelperImage

CREATE_TIMEOUT = 120.0


def launch(docker: Docker, plan: SessionPlan, *, gid: int, ensure_image: Callable[[], object],
           helper_image: HelperImage = lambda name, build: "", warn: Callable[[str], None] | None = None) -> None:
    made_dir = make_dir(plan.persist_dir)
    proxy_started: Callable[[], None] = lambda: None  # noqa: E731
    relay_joined = sidecars.start_relay(docker, plan, helper_image)
    try:
        proxy_started = _start_sidecars(docker, plan, helper_image)
        for attempt in range(3):
            try:
                _start(docker, plan, gid, ensure_image)
                proxy_started()  # its own start went on beside the session's
                _warn(warn, relay_joined())
                return
            except DockerError as exc:
                docker.run("rm", "-f", "-v", plan.container, check=False)
                # `docker create` takes a network that does not exist; `start` then fails: make it
                if attempt < 2 and exc.is_a(NetworkMissing) and plan.network in exc.stderr:
                    ensure_network(docker, plan.network, plan.network_owner, internal=plan.network_internal)
                    continue
                raise
            except BaseException:
                docker.run("rm", "-f", "-v", plan.container, check=False)
                raise
    except BaseException:
        if plan.sidecars or plan.egress:
            sidecars.settle(proxy_started)  # nothing is still being made while we remove
            sidecars.remove(docker, [plan.session_id])
        if made_dir is not None:
            remove_empty_tree(made_dir, stop=3)
        relay_joined()  # (joining it to a network that is now unused does no harm)
        raise


def _warn(warn: Callable[[str], None] | None, text: str) -> None:
    if text and warn is not None:
        warn(text)


def _start_sidecars(docker: Docker, plan: SessionPlan, helper_image: HelperImage) -> Callable[[], None]:
    """The session's egress proxy (in the background: the session's init waits for it) and MCP
    servers in containers, on its network (made here when missing, as mc's egress network is);
    returns what waits for the proxy."""
    if not plan.sidecars and plan.egress is None:
        return lambda: None
    if plan.sidecars:  # (the proxy makes its networks when it finds them missing, like the session)
        ensure_network(docker, plan.network, plan.network_owner, internal=plan.network_internal)
    return sidecars.start(docker, plan, helper_image)


def _start(docker: Docker, plan: SessionPlan, gid: int, ensure_image: Callable[[], object]) -> None:
    simple = not plan.extra_networks and not plan.secret_files
    _create(docker, ["run", "-d"] if simple else ["create"], plan, ensure_image)
    if not simple:
        for net in plan.extra_networks:
            docker.run("network", "connect", net, plan.container)
        if plan.secret_files:
            docker.run("cp", "-", f"{plan.container}:/", input=secrets_tar(plan.secret_files, gid))
        docker.run("start", plan.container)


def _create(docker: Docker, verb: list[str], plan: SessionPlan, ensure_image: Callable[[], object]) -> None:
    """``docker create`` (or ``run -d``); on a missing image build it and try again."""
    for _ in range(2):
        try:
            docker.run(*verb, *plan.create_args(), timeout=CREATE_TIMEOUT)
            return
        except DockerError as exc:
            if not exc.is_a(ImageMissing):
                raise
            docker.run("rm", "-f", "-v", plan.container, check=False)
            ensure_image()
    docker.run(*verb, *plan.create_args(), timeout=CREATE_TIMEOUT)


FAILED_MARK = b"[mc-init] FAILED: "


def run_attached(docker: Docker, plan: SessionPlan, *, gid: int, ensure_image: Callable[[], object],
                 helper_image: HelperImage = lambda name, build: "", tee: Callable[[bytes], None] | None = None,
                 warn: Callable[[str], None] | None = None) -> Attached:
    """A session for one command (``plan.auto_remove``), attached: its output here as it comes,
    its exit code when it ends, the container removed by docker. One ``docker run`` when nothing
    must happen before the start, else ``create``, joins, ``cp``, ``start -a``. A failed init is
    in ``marked`` (the reason mc-init gave), not in the output. Its MCP servers go with it. ``tee``
    also gets the output (a trace's tail)."""
    made_dir = make_dir(plan.persist_dir)
    proxy_failed: list[BaseException] = []
    watcher = None
    relay_joined = sidecars.start_relay(docker, plan, helper_image)
    try:
        proxy_started = _start_sidecars(docker, plan, helper_image)
        if plan.egress is not None:  # its start goes on beside the session's, whose init waits for it
            watcher = _watch(docker, plan, proxy_started, proxy_failed)
        for attempt in range(3):
            try:
                result = _run_attached(docker, plan, gid, tee)
                if watcher is not None:
                    watcher.join()
                if proxy_failed:
                    raise proxy_failed[0]
                if not result.docker_error:
                    return result
                exc = DockerError(docker.argv("run", plan.container), result.code, result.docker_error)
            except DockerError as failed:  # the create of a session with secrets
                exc = failed
            docker.run("rm", "-f", "-v", plan.container, check=False)
            if attempt < 2 and exc.is_a(ImageMissing):
                ensure_image()
            elif attempt < 2 and exc.is_a(NetworkMissing) and plan.network in exc.stderr:
                ensure_network(docker, plan.network, plan.network_owner, internal=plan.network_internal)
            else:
                raise exc
        raise AssertionError("unreachable")
    except BaseException:
        if made_dir is not None:
            remove_empty_tree(made_dir, stop=3)
        raise
    finally:
        if watcher is not None:
            watcher.join()
        if plan.sidecars or plan.egress:
            sidecars.remove(docker, [plan.session_id])
        _warn(warn, relay_joined())


def _watch(docker: Docker, plan: SessionPlan, started: Callable[[], None], failed: list[BaseException]
           ) -> threading.Thread:
    """Wait for the egress proxy beside an attached session; if it cannot start, end the session
    (its command would only wait for it) and keep the reason."""
    def watch() -> None:
        try:
            started()
        except BaseException as exc:  # reported by the caller
            failed.append(exc)
            docker.run("rm", "-f", "-v", plan.container, check=False)

    thread = threading.Thread(target=watch, name="mc-egress-watch", daemon=True)
    thread.start()
    return thread


def _run_attached(docker: Docker, plan: SessionPlan, gid: int, tee: Callable[[bytes], None] | None) -> Attached:
    stdin = subprocess.DEVNULL
    if not plan.extra_networks and not plan.secret_files:
        return docker.attached("run", *plan.create_args(), stdin=stdin, marker=FAILED_MARK, tee=tee)
    docker.run("create", *plan.create_args(), timeout=CREATE_TIMEOUT)
    try:
        for net in plan.extra_networks:
            docker.run("network", "connect", net, plan.container)
        if plan.secret_files:
            docker.run("cp", "-", f"{plan.container}:/", input=secrets_tar(plan.secret_files, gid))
    except BaseException:
        docker.run("rm", "-f", "-v", plan.container, check=False)
        raise
    return docker.attached("start", "-a", plan.container, stdin=stdin, marker=FAILED_MARK, tee=tee)


def make_dir(path: Path | None) -> Path | None:
    """Make a persistent config directory that does not exist yet; the path when it was made."""
    if path is None or path.exists():
        return None
    path.mkdir(parents=True, mode=0o700)
    return path


def remove_empty_tree(path: Path, stop: int) -> None:
    """Remove a directory we just made, and its now-empty parents (up to ``stop`` levels)."""
    for _ in range(stop):
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent
