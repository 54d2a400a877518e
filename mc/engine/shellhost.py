"""Local shells that outlive their terminal: one small holder process per shell.

Local mode has no daemon to keep a shell while its client is gone, so a connect on a terminal
starts a holder: this module run as a detached process (``MC_SHELL_HOST`` set, see ``mc.cli``). It
owns the ``docker exec -it`` of the shell through a ``Shells`` registry of one (the scrollback, the
grace period, the takeover, the ending are mcd's own, see mc.engine.shells) and serves it on a unix
socket in a directory only this user can enter. ``mc session connect`` is its client (mc.term
.shellclient): it relays the terminal over the socket. A client that goes away without a detach
leaves the shell waiting for ``grace`` seconds; connecting again resumes it with its recent screen.

The listening socket is made by the spawning mc and handed down (so the client connects at once,
with no wait for the holder to start), the holder's spec comes on its stdin (never in argv), and
the holder ends with its shell: an exit, a detach, the grace period, the session's end, or a
SIGTERM (which ends the shell's processes first).

Wire format, both ways: one byte of kind, four bytes of length, the payload (at most ``MAX_FRAME``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mc.engine.models import Session, ShellInfo
from mc.errors import InvalidArgument, McError, NotFound, Unavailable

if TYPE_CHECKING:
    from mc.engine.shells import Attachment, Shell

ENV = "MC_SHELL_HOST"
HEADER = struct.Struct("!cI")
MAX_FRAME = 1024 * 1024
MAX_WAITING = 8  # waiting local shells of this user; the oldest ends first
FIRST_CLIENT = 30.0  # seconds the holder waits for the mc that started it
USER = "local"

# client -> holder
INIT, INFO, END = b"I", b"?", b"E"
STDIN, RESIZE, SIGNAL, CLOSE_STDIN, DETACH = b"d", b"r", b"s", b"c", b"D"
# holder -> client
STARTED, OUTPUT, EXIT, ABOUT, ERROR = b"S", b"o", b"x", b"i", b"e"


# -- the wire ---------------------------------------------------------------------------------
def send(sock: socket.socket, kind: bytes, payload: bytes = b"") -> None:
    sock.sendall(HEADER.pack(kind, len(payload)) + payload)


def send_json(sock: socket.socket, kind: bytes, obj: dict[str, Any]) -> None:
    send(sock, kind, json.dumps(obj).encode())


def recv(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
    """The next frame, or None at the end of the connection."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    kind, size = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise InvalidArgument(f"shell socket: a frame of {size} bytes (at most {MAX_FRAME})")
    payload = stream.read(size) if size else b""
    if len(payload) < size:
        return None
    return kind, payload


# -- where the sockets are -----------------------------------------------------------------------
def shells_dir(owner: str) -> Path:
    """The owner's socket directory, in the runtime dir, else in one in /tmp that only this user may
    enter (short either way: a socket's path has at most 107 bytes)."""
    import hashlib

    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    base = Path(f"/tmp/mc-shells-{os.getuid()}")
    if runtime and os.path.isdir(runtime) and len(runtime) <= 60:  # room for /mc-shells/OWNER/SESSION.SHELL.sock
        base = Path(runtime) / "mc-shells"
    mine = base / hashlib.sha256(owner.encode()).hexdigest()[:12]
    for d in (base, mine):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        st = d.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise Unavailable(f"{d} is not a directory of this user's alone; remove it and connect again")
    return mine


def _path(owner: str, session: str, shell: str) -> Path:
    return shells_dir(owner) / f"{session}.{shell}.sock"


def _dial(path: Path, timeout: float | None = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def _ask(path: Path, kind: bytes) -> dict[str, Any] | None:
    """One question to a holder; None when it is gone (its socket file is then removed)."""
    try:
        with _dial(path, 2.0) as sock:
            send(sock, kind)
            if kind != INFO:
                return {}
            frame = recv(sock.makefile("rb"))
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    except OSError:
        return None
    if frame is None or frame[0] != ABOUT:
        return None
    info: dict[str, Any] = json.loads(frame[1])
    return info


def listing(owner: str, session: str | None = None) -> list[ShellInfo]:
    """The owner's local shells (of one session), oldest first."""
    found = []
    for path in shells_dir(owner).glob(f"{session or '*'}.*.sock"):
        info = _ask(path, INFO)
        if info is not None:
            found.append(ShellInfo(info["id"], info["session"], info["started"], info["waiting_since"],
                                   info["grace_left"]))
    return sorted(found, key=lambda s: s.started)


def dial(owner: str, session: str, shell: str) -> socket.socket:
    """A connection to a waiting shell, to resume it."""
    if not shell.isalnum() or len(shell) > 64:
        raise InvalidArgument(f"shell id {shell[:64]!r}: expected the id connect printed or offered")
    try:
        return _dial(_path(owner, session, shell), None)
    except OSError:
        raise NotFound(f"no shell {shell} to resume in session {session} (it ended, or its grace period "
                       "ran out)") from None


def _make_room(owner: str) -> None:
    """At most MAX_WAITING of the owner's shells wait; the oldest waiting ones end first."""
    waiting = sorted((s for s in listing(owner) if s.waiting_since), key=lambda s: s.waiting_since)
    for s in waiting[:max(0, len(waiting) - MAX_WAITING + 1)]:
        _ask(_path(owner, s.session, s.id), END)


def spawn(argv: list[str], docker_binary: str, docker_host: str, owner: str, session: Session,
          argv_in_session: list[str], exec_id: str, size: tuple[int, int] | None, grace: int
          ) -> tuple[socket.socket, str]:
    """Start a holder for a new shell; a connection to it (the first client) and the shell's id.

    ``argv`` runs this mc with ``ENV`` set; ``argv_in_session`` is the docker exec of the shell.
    """
    import secrets

    _make_room(owner)
    shell = secrets.token_hex(4)
    path = _path(owner, session.id, shell)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(8)
        spec = {"fd": listener.fileno(), "path": str(path), "id": shell, "session": session.id,
                "container": session.container, "user": session.user, "argv": argv_in_session, "exec_id": exec_id,
                "size": list(size) if size else None, "grace": grace, "docker": docker_binary, "host": docker_host}
        holder = subprocess.Popen(argv, env={**os.environ, ENV: "1"}, stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  pass_fds=(listener.fileno(),), start_new_session=True)
        assert holder.stdin is not None
        holder.stdin.write(json.dumps(spec).encode())
        holder.stdin.close()
        sock = _dial(path, None)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    finally:
        listener.close()
    return sock, shell


# -- the holder ---------------------------------------------------------------------------------
class _Holder:
    def __init__(self, spec: dict[str, Any]) -> None:
        from mc.docker import Docker
        from mc.engine.attach import AttachProcess
        from mc.engine.shells import Shells

        self.spec = spec
        self.path = Path(spec["path"])
        self.listener = socket.socket(fileno=spec["fd"])
        docker = Docker(spec["host"], binary=spec["docker"])
        session = Session(id=spec["session"], name="", driver="", status="running", container=spec["container"],
                          user=spec["user"])
        size = (int(spec["size"][0]), int(spec["size"][1])) if spec["size"] else None
        self.shells = Shells(spec["grace"], max_waiting=1)
        self.first: Attachment | None = self.shells.open(
            lambda: AttachProcess(docker, session, spec["argv"], True, spec["exec_id"], size), session.id, USER, size,
            spec["id"])
        self.conns: list[threading.Thread] = []

    def shell(self) -> Shell | None:
        return self.shells.get(self.spec["id"])

    def run(self) -> None:
        self.listener.settimeout(0.5)
        until = time.monotonic() + FIRST_CLIENT
        while self.shell() is not None:
            if self.first is not None and time.monotonic() > until:  # the mc that started it never came
                self.first.kill()
                self.first = None
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(target=self.serve, args=(conn,), daemon=True)
            t.start()
            self.conns = [c for c in self.conns if c.is_alive()] + [t]
        with contextlib.suppress(OSError):
            self.path.unlink()
        self.listener.close()
        for t in self.conns:
            t.join(timeout=5)

    def serve(self, conn: socket.socket) -> None:
        with conn:
            stream = conn.makefile("rb")
            try:
                frame = recv(stream)
            except (OSError, McError):
                return
            shell = self.shell()
            if frame is None or shell is None:
                return
            kind, payload = frame
            if kind == INFO:
                with contextlib.suppress(OSError):
                    info = shell.info()
                    send_json(conn, ABOUT, {"id": info.id, "session": info.session, "started": info.started,
                                            "waiting_since": info.waiting_since, "grace_left": info.grace_left})
                return
            if kind == END:
                shell.end()
                return
            if kind != INIT:
                return
            self.attached(conn, stream, json.loads(payload))

    def attached(self, conn: socket.socket, stream: IO[bytes], init: dict[str, Any]) -> None:
        size = (int(init["rows"]), int(init["cols"])) if init.get("rows") else None
        if self.first is not None and not init.get("resume"):
            att, self.first = self.first, None
        else:
            try:
                att = self.shells.resume(self.spec["id"], self.spec["session"], USER, size)
            except McError as exc:
                with contextlib.suppress(OSError):
                    send(conn, ERROR, str(exc).encode())
                return
        try:
            send_json(conn, STARTED, {"id": att.id, "resumed": att.resumed})
        except OSError:
            att.kill()
            return
        threading.Thread(target=self.inputs, args=(stream, att), daemon=True).start()
        try:
            for _, chunk in att.output():
                send(conn, OUTPUT, chunk)
            code = att.wait()
            send_json(conn, EXIT, {"code": code, "detached": att.detached,
                                   "reason": "taken over" if att.taken_over else ""})
        except OSError:
            att.kill()

    @staticmethod
    def inputs(stream: IO[bytes], att: Attachment) -> None:
        """The client's input; its connection's end without a detach leaves the shell waiting."""
        try:
            while (frame := recv(stream)) is not None:
                kind, payload = frame
                if kind == STDIN:
                    att.write(payload)
                elif kind == RESIZE:
                    rows, cols = struct.unpack("!HH", payload)
                    att.resize(rows, cols)
                elif kind == SIGNAL:
                    att.signal(int(payload))
                elif kind == CLOSE_STDIN:
                    att.close_stdin()
                elif kind == DETACH:
                    att.detach()
                    return
        except (OSError, ValueError, McError):
            pass
        att.kill()


def host_main() -> None:
    """The holder process (``MC_SHELL_HOST``): serve one shell until it ends."""
    os.environ.pop(ENV, None)
    spec = json.loads(sys.stdin.buffer.read(MAX_FRAME))
    holder = _Holder(spec)
    for sig in (signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)

    def stop(signum: int, frame: Any) -> None:
        holder.shells.close_all()  # the shell's processes in the session end with it

    signal.signal(signal.SIGTERM, stop)
    holder.run()
