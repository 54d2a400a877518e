#!/usr/bin/env python3
"""Benchmarks: mc side by side with the raw docker command doing the same work, in one run.

Each line is a ratio of medians over interleaved repetitions (ours, floor, ours, floor, ...), so
machine noise hits both sides alike. The floor of a CLI command is the cost of starting our own
stack (``python3 -c 'import cyclopts'``) plus the docker command doing the same work.

    .venv/bin/python scripts/bench.py [--reps N] [--json out.json] [--only NAME ...]

Nothing here is a test: no thresholds fail a build; the targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MC = [str(ROOT / ".venv" / "bin" / "mc")] if (ROOT / ".venv" / "bin" / "mc").exists() else [PY, "-m", "mc"]
FLOOR = [PY, "-c", "import cyclopts"]
# The floor of `session create` joins the same network a session joins (mc-network): the same work.


def sh(argv: list[str], env: dict[str, str] | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, check=check, capture_output=True, **kw)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def remove_owned_containers(owner: str) -> None:
    ids = sh(["docker", "ps", "-aq", "--filter", f"label=mc.owner={owner}"]).stdout.decode().split()
    if ids:
        sh(["docker", "rm", "-f", *ids], check=False)


def interleave(ours: Callable[[], object], floor: Callable[[], object], reps: int,
               before: Callable[[], object] | None = None) -> tuple[float, float]:
    a, b = [], []
    for i in range(reps):
        for side in ((ours, a), (floor, b)) if i % 2 == 0 else ((floor, b), (ours, a)):
            if before:
                before()
            side[1].append(timed(side[0]))
    return statistics.median(a), statistics.median(b)


class Bench:
    def __init__(self, reps: int) -> None:
        self.reps = reps
        self.rows: list[dict[str, object]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="mc-bench-"))
        self.owner = f"bench-{secrets.token_hex(3)}"
        # what a user has: bytecode written and reused (a test runner's PYTHONDONTWRITEBYTECODE is not)
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        sh([PY, "-m", "compileall", "-q", str(ROOT / "mc"), str(ROOT / "mcd")])
        self.env = {**base, "XDG_CONFIG_HOME": str(self.tmp / "config"), "XDG_DATA_HOME": str(self.tmp / "data"),
                    "MC_OWNER": self.owner, "PYTHONPATH": str(ROOT)}
        if Path("/usr/local/share/ca-certificates").is_dir():
            self.env.setdefault("MC_EXTRA_CA_CERTS", "/usr/local/share/ca-certificates")
        self.mcd: subprocess.Popen | None = None
        self.replicas: list[subprocess.Popen] = []

    def row(self, name: str, ours: float, floor: float, target: str, unit: str = "s", ratio: float | None = None,
            note: str = "") -> None:
        r = ratio if ratio is not None else ours / floor
        self.rows.append({"benchmark": name, "mc": round(ours, 4), "floor": round(floor, 4), "ratio": round(r, 2),
                          "target": target, "unit": unit, "note": note})
        print(f"  {name:<44} mc {ours:9.4f}{unit}  floor {floor:9.4f}{unit}  ratio {r:5.2f}  (target {target})"
              f"{'  ' + note if note else ''}", flush=True)

    def mc(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return sh([*MC, *args], env=env or self.env, check=check)

    # -- setup helpers -----------------------------------------------------------------------
    def base_image(self) -> str:
        self.mc("driver", "build", "base", "-o", "json")
        return json.loads(self.mc("driver", "info", "base", "-o", "json").stdout)["image"]

    def fake_sessions(self, n: int) -> None:
        """n mc-labelled containers (created, not started): what `session list` has to read."""
        image = self.base_image()

        def one(i: int) -> None:
            sh(["docker", "create", "--pull=never", "--label", f"mc.session=b{i:07d}", "--label",
                f"mc.owner={self.owner}", "--label", "mc.driver=base", "--label", f"mc.name=bench{i}",
                "--label", "mc.created=2026-01-01T00:00:00Z", image])

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(n)))

    def cleanup(self) -> None:
        ids = sh(["docker", "ps", "-aq", "--filter", f"label=mc.owner={self.owner}"]).stdout.split()
        for i in range(0, len(ids), 100):
            sh(["docker", "rm", "-f", *[x.decode() for x in ids[i:i + 100]]], check=False)

    def httpd_driver(self) -> Path:
        """A driver with python3 (its http.server), for the port-forward benchmark."""
        drv = self.tmp / "httpd"
        drv.mkdir(exist_ok=True)
        (drv / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN apt-get update && "
                                        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                                        "python3 && rm -rf /var/lib/apt/lists/*\n")
        (drv / "mc-driver.yaml").write_text("name: httpd\n")
        return drv

    def start_mcd(self) -> str:
        if self.mcd is None:
            from mc.projects.crypto import generate_key

            d = self.tmp / "mcd"
            d.mkdir(exist_ok=True)
            drv = self.tmp / "loud"
            drv.mkdir(exist_ok=True)
            (drv / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
            (drv / "mc-driver.yaml").write_text("name: loud\ninit:\n  command: seq 1 1000000\n")
            import yaml

            (d / "mc-service.yaml").write_text(yaml.safe_dump({
                "server": {"socket": str(d / "mcd.sock"), "max_concurrent_rpcs": 128},
                "sessions": {"max_per_user": 0},  # the parallel creates are one user's
                "database": {"path": str(d / "mcd.db")},
                "drivers": [{"name": "loud", "path": str(drv)}, {"name": "httpd", "path": str(self.httpd_driver())}],
            }))
            env = {**self.env, "PROJECT_ENCRYPTION_KEY": generate_key()}
            self.mcd = subprocess.Popen([PY, "-m", "mcd", "serve", "--config", str(d / "mc-service.yaml")], env=env,
                                        stdout=subprocess.DEVNULL, stderr=open(d / "log", "wb"))  # noqa: SIM115
            for _ in range(200):
                if (d / "mcd.sock").exists():
                    break
                time.sleep(0.05)
            time.sleep(0.5)
            self.mc("remote", "add", "bench", f"unix://{d / 'mcd.sock'}")
        return "bench"

    def close(self) -> None:
        self.cleanup()
        # the network mcd made for this owner's sessions
        sh(["docker", "network", "prune", "-f", "--filter", f"label=mc.network={self.owner}"], check=False)
        if self.mcd is not None:
            self.mcd.send_signal(signal.SIGTERM)
            self.mcd.wait(timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- benchmarks ----------------------------------------------------------------------------
    def help(self) -> None:
        ours, floor = interleave(lambda: self.mc("--help"), lambda: sh(FLOOR), self.reps * 2)
        self.row("mc --help vs import cyclopts", ours, floor, "<= 1.6x")

    def session_list(self) -> None:
        ps = ["docker", "ps", "-a", "--filter", "label=mc.session", "--filter", f"label=mc.owner={self.owner}",
              "--format", "json"]
        for n in (10, 500):
            self.cleanup()
            self.fake_sessions(n)
            ours, floor = interleave(lambda: self.mc("session", "list"), lambda: (sh(FLOOR), sh(ps)), self.reps)
            self.row(f"mc session list @{n} vs floor + docker ps", ours, floor, "<= 1.5x")
        self.cleanup()

    def create_and_exec(self) -> None:
        image = self.base_image()
        ours, floor = interleave(
            lambda: self.mc("session", "create", "--driver", "base", "--no-connect"),
            lambda: (sh(FLOOR), sh(["docker", "run", "-d", "--pull=never", "--network", "mc-network",
                                    "--label", f"mc.owner={self.owner}", image])),
            self.reps, before=self.cleanup)
        self.row("mc session create --no-connect vs floor + docker run -d", ours, floor, "<= 1.2x")
        self.cleanup()
        sid = json.loads(self.mc("session", "create", "--driver", "base", "--no-connect", "-o", "json").stdout)
        self.mc("session", "exec", sid["id"], "--", "true")
        ours, floor = interleave(lambda: self.mc("session", "exec", sid["id"], "--", "true"),
                                 lambda: (sh(FLOOR), sh(["docker", "exec", sid["container"], "true"])), self.reps * 2)
        self.row("mc session exec ID -- true vs floor + docker exec", ours, floor, "<= 1.2x")
        self.cleanup()

    def egress(self) -> None:
        """The price of an egress policy: a session behind its own proxy vs the same without."""
        self.base_image()
        policy = ("--allow-domain", "example.com")
        create = ("session", "create", "--driver", "base", "--no-connect")
        self.mc(*create, "--rm", "--run", "true", *policy)  # the proxy's image is built once, outside
        ours, floor = interleave(lambda: self.mc(*create, *policy), lambda: self.mc(*create), self.reps,
                                 before=self.cleanup)
        self.row("session create with an egress policy vs without", ours, floor, "<= 1.3x")
        once = (*create, "--rm", "--run", "true")
        ours, floor = interleave(lambda: self.mc(*once, *policy), lambda: self.mc(*once), self.reps)
        self.row("create --rm --run true with an egress policy vs without", ours, floor, "-",
                 note="includes waiting for the proxy")
        self.cleanup()

    def stop_start(self) -> None:
        """A stopped session started again vs a new session (both until their init is done)."""
        self.base_image()
        create = ("session", "create", "--driver", "base", "--no-connect", "-o", "json")
        kept = json.loads(self.mc(*create).stdout)
        self.mc("session", "stop", kept["id"])
        starts, creates = [], []
        for i in range(self.reps):
            for side in ("start", "create") if i % 2 == 0 else ("create", "start"):
                if side == "start":
                    starts.append(timed(lambda: self.mc("session", "start", kept["id"])))
                    self.mc("session", "stop", kept["id"])
                else:  # create, then wait for its init as start does
                    creates.append(timed(lambda: self.mc("session", "exec", json.loads(self.mc(*create).stdout)["id"],
                                                         "--", "true")))
        self.row("session start of a stopped session vs create (init done)", statistics.median(starts),
                 statistics.median(creates), "< 1x")
        self.cleanup()

    def port_forward(self) -> None:
        """A 100 MB download from an HTTP server in a session: through `mc session port-forward` (locally
        and through mcd) vs the same bytes piped out by `docker exec`, and vs a direct connection to the
        session's address on the server."""
        import re
        import urllib.request

        drv = self.httpd_driver()
        serve = ("mkdir -p /tmp/www && head -c 100000000 /dev/zero >/tmp/www/big && "
                 "(cd /tmp/www && nohup python3 -m http.server 8000 >/dev/null 2>&1 &) && "
                 "for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null && break; sleep 0.1; done")
        s = json.loads(self.mc("session", "create", "--driver", str(drv), "--no-connect", "-o", "json").stdout)
        self.mc("session", "exec", s["id"], "--", "bash", "-c", serve)
        address = sh(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                      s["container"]]).stdout.decode().split()[0]

        def fetch(url: str) -> None:
            with urllib.request.urlopen(url, timeout=120) as resp:
                while resp.read(1 << 20):
                    pass

        def forwarded(remote: tuple[str, ...], sid: str) -> tuple[subprocess.Popen, int]:
            proc = subprocess.Popen([*MC, *remote, "session", "port-forward", sid, "0:8000"], env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert proc.stderr is not None
            port = int(re.search(r":(\d+) -> session", proc.stderr.readline()).group(1))
            return proc, port

        remote = ("-r", self.start_mcd())
        rs = json.loads(self.mc(*remote, "session", "create", "--driver", "httpd", "--no-connect", "-o", "json").stdout)
        self.mc(*remote, "session", "exec", rs["id"], "--", "bash", "-c", serve)
        piped = lambda: sh(["docker", "exec", s["container"], "cat", "/tmp/www/big"])  # noqa: E731
        direct = lambda: fetch(f"http://{address}:8000/big")  # noqa: E731
        for where, options, sid in (("local", (), s["id"]), ("mcd", remote, rs["id"])):
            proc, port = forwarded(options, sid)
            ours = lambda port=port: fetch(f"http://127.0.0.1:{port}/big")  # noqa: E731
            for against, floor_fn in (("docker exec cat", piped), ("a direct connection", direct)):
                mine, floor = interleave(ours, floor_fn, max(3, self.reps // 2))
                self.row(f"100 MB through {where} port-forward vs {against}", mine, floor, "informative",
                         ratio=floor / mine, note="ratio = throughput")
            proc.terminate()
        self.cleanup()

    def one_shot(self) -> None:
        """What a batch user lives on: a session for one command, removed after."""
        image = self.base_image()
        once = ("session", "create", "--driver", "base", "--no-connect", "--rm", "--run", "true")
        ours, floor = interleave(lambda: self.mc(*once),
                                 lambda: sh(["docker", "run", "--rm", "--pull=never", "--entrypoint", "true", image]),
                                 self.reps)
        self.row("create --rm --run true vs docker run --rm --entrypoint true", ours, floor, "<= 1.4x")
        # the same work: our stack's start, and the network every session joins
        ours, floor = interleave(lambda: self.mc(*once),
                                 lambda: (sh(FLOOR), sh(["docker", "run", "--rm", "--pull=never", "--network",
                                                         "mc-network", "--entrypoint", "true", image])), self.reps)
        self.row("create --rm --run true vs floor + docker run --rm on mc-network", ours, floor, "<= 1.2x")

    def _echo_latency(self, argv: list[str], env: dict[str, str], keys: int = 60) -> list[float]:
        """Seconds from a key sent to its echo read, per key (a pseudo-terminal, as a person types)."""
        import pexpect

        child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=60)
        child.delaybeforesend = None
        child.expect(r"[#$] ")
        child.sendline("stty -echoctl; PS1='$ '")
        child.expect(r"\$ ")
        time.sleep(0.3)
        samples = []
        for i in range(keys):
            ch = "abcdefghij"[i % 10]
            start = time.perf_counter()
            child.send(ch)
            child.expect_exact(ch)
            samples.append(time.perf_counter() - start)
        child.sendcontrol("u")
        child.sendline("exit")
        child.expect(pexpect.EOF)
        return samples

    def keystrokes(self) -> None:
        sid = json.loads(self.mc("session", "create", "--driver", "base", "--no-connect", "-o", "json").stdout)
        self.mc("session", "exec", sid["id"], "--", "true")
        docker = ["docker", "exec", "-it", sid["container"], "bash", "--norc"]
        ours, floor = [], []
        for _ in range(2):  # interleaved halves: the machine's noise hits both sides
            ours += self._echo_latency([*MC, "session", "connect", sid["id"]], self.env)
            floor += self._echo_latency(docker, self.env)
        self.echo_row("local connect", ours, floor, "<= 2x")
        remote = self.start_mcd()
        rsid = json.loads(self.mc("-r", remote, "session", "create", "--driver", "base", "--no-connect",
                                  "-o", "json").stdout)
        self.mc("-r", remote, "session", "exec", rsid["id"], "--", "true")
        ours, floor = [], []
        for _ in range(2):
            ours += self._echo_latency([*MC, "-r", remote, "session", "connect", rsid["id"]], self.env)
            floor += self._echo_latency(["docker", "exec", "-it", rsid["container"], "bash", "--norc"], self.env)
        self.echo_row("remote connect", ours, floor, "<= 1.6x, p99 <= 10 ms")
        self.cleanup()

    def echo_row(self, what: str, ours: list[float], floor: list[float], target: str) -> None:
        self.row(f"keystroke echo: {what} vs docker exec -it", statistics.median(ours) * 1000,
                 statistics.median(floor) * 1000, target, unit="ms",
                 note=f"p99 {percentile(ours, 99) * 1000:.2f} vs {percentile(floor, 99) * 1000:.2f} ms")

    def browser(self) -> None:
        """mcd's browser terminal against a bare WebSocket-to-pty bridge (tests/pty_bridge.py) running
        `docker exec -it` on the same session: echo timed inside each page, and page load to first
        prompt with a warm browser. Each side has a Chromium of its own."""
        sys.path.insert(0, str(ROOT))
        from playwright.sync_api import sync_playwright

        from tests.oidc_harness import Provider, self_signed
        from tests.pty_bridge import Bridge
        from tests.web_harness import ECHO_SCRIPT, PROMPT, browser_login, launch, navigate, start_web, user, wait_text

        os.environ.update({k: v for k, v in self.env.items() if k.startswith("MC_EXTRA")})
        provider = Provider(access_ttl=600)
        for d in ("web", "bridge"):
            (self.tmp / d).mkdir()
        web = start_web(self.tmp / "web", provider, grace=30)
        name, mc = user(web, self.tmp / "web")
        sid = json.loads(mc.ok("-r", "w", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        mc.ok("-r", "w", "session", "exec", sid["id"], "--", "true")
        cert, key = self_signed(self.tmp / "bridge")
        bridge = Bridge(["docker", "exec", "-it", "-e", "TERM=xterm-256color", sid["container"], "bash", "-l"],
                        cert, key).start()
        quiet = "stty -echoctl; PS1='$ '\r"
        try:
            with sync_playwright() as pw:
                ours_browser, bare_browser = launch(pw), launch(pw)
                context, page = browser_login(ours_browser, web, name)
                terminal = f"{web.url}/#/terminal/{sid['id']}"
                bare_context = bare_browser.new_context(ignore_https_errors=True,
                                                        viewport={"width": 1000, "height": 600})
                bare = bare_context.new_page()

                def prompt_after_load(p, url: str) -> float:
                    start = time.perf_counter()
                    navigate(p, url)
                    p.wait_for_function("() => !!window.mcTerm")
                    wait_text(p, PROMPT)
                    return time.perf_counter() - start

                for p, url in ((page, terminal), (bare, bridge.url + "/")):
                    prompt_after_load(p, url)
                    p.evaluate(f"() => window.mcTerm.input({quiet!r}, true)")
                    wait_text(p, r"(?m)^\$ $")
                    p.evaluate(ECHO_SCRIPT, 10)  # warm: the first keystrokes pay for JIT and buffers
                ours_ms: list[float] = []
                bare_ms: list[float] = []
                for i in range(6):
                    for p, into in ((page, ours_ms), (bare, bare_ms)) if i % 2 == 0 else ((bare, bare_ms),
                                                                                          (page, ours_ms)):
                        into.extend(p.evaluate(ECHO_SCRIPT, 20))
                self.row("browser echo: mcd's page vs a bare ws-pty bridge", statistics.median(ours_ms),
                         statistics.median(bare_ms), "<= 1.3x", unit="ms",
                         note=f"p99 {percentile(ours_ms, 99):.1f} vs {percentile(bare_ms, 99):.1f} ms")
                # page load to first prompt, warm browser: a new tab each time (a new shell: no resume)
                loads: list[float] = []
                bare_loads: list[float] = []
                for _ in range(max(3, self.reps // 2)):
                    for ctx, url, into in ((context, terminal, loads), (bare_context, bridge.url + "/", bare_loads)):
                        tab = ctx.new_page()
                        into.append(prompt_after_load(tab, url))
                        tab.close()
                self.row("page load to first prompt (warm): mcd vs bridge", statistics.median(loads),
                         statistics.median(bare_loads), "report")
                ours_browser.close()
                bare_browser.close()
        finally:
            bridge.stop()
            mc.run("-r", "w", "session", "close", "--all")
            web.daemon.stop()
            provider.stop()
            remove_owned_containers(name)

    def logs(self) -> None:
        remote = self.start_mcd()
        s = json.loads(self.mc("-r", remote, "session", "create", "--driver", "loud", "--no-connect", "-o", "json",
                               "--name", "loud").stdout)
        self.mc("-r", remote, "session", "exec", s["id"], "--", "true")  # init (the million lines) is done
        devnull = subprocess.DEVNULL
        ours, floor = interleave(
            lambda: subprocess.run([*MC, "-r", remote, "session", "logs", s["id"]], env=self.env, stdout=devnull,
                                   check=True),
            lambda: subprocess.run(["docker", "logs", s["container"]], stdout=devnull, stderr=devnull, check=True),
            max(3, self.reps // 2))
        self.row("logs of 1M lines: through mcd vs docker logs", ours, floor, ">= 0.5x throughput",
                 ratio=floor / ours, note="ratio = throughput")
        self.cleanup()

    def log_forwarding(self) -> None:
        """1M lines of session output with a Fluentd collector (a forward-protocol receiver here) vs
        without: how long the command that writes them takes, and `mc session logs` after."""
        sys.path.insert(0, str(ROOT))
        from tests.forward_receiver import Receiver

        self.base_image()
        receiver = Receiver().start()
        forwarded = {**self.env, "XDG_CONFIG_HOME": str(self.tmp / "config-fluentd")}
        self.mc("config", "set", "logging.fluentd.url", f"127.0.0.1:{receiver.port}", env=forwarded)
        write = "seq 1 1000000 >/proc/1/fd/1"
        sessions = {}
        for name, env in (("on", forwarded), ("off", self.env)):
            sessions[name] = json.loads(self.mc("session", "create", "--driver", "base", "--no-connect", "-o", "json",
                                                env=env).stdout)
        ours, floor = interleave(lambda: self.mc("session", "exec", sessions["on"]["id"], "--", "bash", "-c", write,
                                                 env=forwarded),
                                 lambda: self.mc("session", "exec", sessions["off"]["id"], "--", "bash", "-c", write),
                                 max(2, self.reps // 4))
        self.row("writing 1M lines: fluentd provider on vs off", ours, floor, ">= 0.9x", ratio=floor / ours,
                 note="ratio = speed")
        devnull = subprocess.DEVNULL
        ours, floor = interleave(
            lambda: subprocess.run([*MC, "session", "logs", sessions["on"]["id"]], env=forwarded, stdout=devnull,
                                   check=True),
            lambda: subprocess.run([*MC, "session", "logs", sessions["off"]["id"]], env=self.env, stdout=devnull,
                                   check=True), max(2, self.reps // 4))
        self.row("mc session logs of those lines: provider on vs off", ours, floor, ">= 0.9x", ratio=floor / ours,
                 note="ratio = throughput")
        # both providers: Langfuse too (a stand-in OTLP endpoint on a network's gateway, where the
        # relay reaches it); the relay is made by the first create, not timed
        from tests.otlp_receiver import OtlpReceiver

        sh(["docker", "network", "create", "mc-bench-langfuse"], check=False)
        gateway = sh(["docker", "network", "inspect", "mc-bench-langfuse", "-f",
                      "{{(index .IPAM.Config 0).Gateway}}"]).stdout.decode().strip()
        otlp = OtlpReceiver(gateway, "pk-bench", "sk-bench")
        for key, value in (("url", otlp.url), ("public_key", "pk-bench"), ("secret_key", "sk-bench")):
            self.mc("config", "set", f"services.langfuse.{key}", value, env=forwarded)
        warm = json.loads(self.mc("session", "create", "--driver", "base", "--no-connect", "-o", "json",
                                  env=forwarded).stdout)
        relay = self.mc("session", "exec", warm["id"], "--", "printenv", "OTEL_EXPORTER_OTLP_ENDPOINT",
                        env=forwarded).stdout.decode().split("//")[1].split(":")[0]
        ours, floor = interleave(
            lambda: self.mc("session", "create", "--driver", "base", "--no-connect", env=forwarded),
            lambda: self.mc("session", "create", "--driver", "base", "--no-connect"), self.reps)
        self.row("session create: fluentd + langfuse providers vs none", ours, floor, "<= 1.05x",
                 note=f"{len(receiver.records)} records received")
        ours, floor = interleave(
            lambda: self.mc("session", "exec", warm["id"], "--", "true", env=forwarded),
            lambda: self.mc("session", "exec", sessions["off"]["id"], "--", "true"), self.reps)
        self.row("session exec: with a Langfuse trace vs without", ours, floor, "informative",
                 note=f"{len(otlp.spans)} spans received")
        receiver.stop()
        otlp.close()
        self.cleanup()
        sh(["docker", "rm", "-f", relay], check=False)

    def parallel_creates(self) -> None:
        remote = self.start_mcd()
        image = self.base_image()

        # 50 concurrent Create calls from one gRPC client (as another tool would make them): this
        # measures mcd, not 50 Python interpreters starting on 2 cores.
        os.environ.update({k: v for k, v in self.env.items() if k.startswith(("XDG_", "MC_"))})
        from mc.engine.models import SessionSpec
        from mc.remote.client import RemoteBackend

        client = RemoteBackend(remote, f"unix://{self.tmp / 'mcd' / 'mcd.sock'}")

        def create_one(_: int) -> int:
            try:
                client.create(SessionSpec(driver="base"))
                return 0
            except Exception:
                return 1

        def ours() -> int:
            with ThreadPoolExecutor(50) as pool:
                return sum(pool.map(create_one, range(50)))

        def floor() -> int:
            with ThreadPoolExecutor(50) as pool:
                codes = list(pool.map(lambda _: sh(["docker", "run", "-d", "--pull=never", "--label",
                                                    f"mc.owner={self.owner}", image], check=False).returncode,
                                      range(50)))
            return sum(1 for c in codes if c)

        failures: list[int] = []
        a, b = [], []
        for i in range(2):
            for fn, into in ((ours, a), (floor, b)) if i % 2 == 0 else ((floor, b), (ours, a)):
                self.cleanup()
                start = time.perf_counter()
                failed = fn()
                into.append(time.perf_counter() - start)
                if fn is ours:
                    failures.append(failed)
        self.row("50 parallel creates: through mcd vs docker run -d", statistics.median(a), statistics.median(b),
                 "<= 1.5x",
                 note=f"failures {sum(failures)}")
        self.cleanup()

    def swarm(self) -> None:
        """mcd in swarm mode on a Swarm of Docker-in-Docker nodes on this machine (a manager, two
        workers, a registry: tests/swarm_harness.py; MC_TEST_SWARM=DIR reuses one) against mcd on
        the single engine: create until ready, 50 concurrent creates through two replicas on one
        PostgreSQL, keystroke echo to a session on a worker."""
        sys.path.insert(0, str(ROOT))
        from tests.postgres_harness import postgres_server
        from tests.swarm_harness import Cluster, down, up

        shared = os.environ.get("MC_TEST_SWARM")
        directory = Path(shared) if shared else self.tmp / "swarm"
        cluster = Cluster.read(directory) if shared else up(directory)
        try:
            with postgres_server() as pg:
                self._swarm(cluster, pg.url)
        finally:
            for name in ("sw-a", "sw-b"):
                self.mc("-r", name, "session", "close", "--all", check=False)
            for proc in self.replicas:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
            self.replicas.clear()
            if not shared:
                down(directory)

    def _replica(self, cluster: Any, url: str, name: str, key: str) -> str:
        import yaml

        c = cluster
        d = self.tmp / name
        d.mkdir()
        (d / "mc-service.yaml").write_text(yaml.safe_dump({
            "server": {"socket": str(d / "mcd.sock"), "max_concurrent_rpcs": 128},
            "database": {"url": url},
            "docker": {"mode": "swarm", "swarm": {
                "manager": c.manager.host, "registry": c.registry,
                "tls": {"ca": f"{c.certs}/ca.pem", "cert": f"{c.certs}/cert.pem", "key": f"{c.certs}/key.pem"}}},
            "sessions": {"pool": "sessions", "max_per_user": 0}}))
        self.replicas.append(subprocess.Popen(
            [PY, "-m", "mcd", "serve", "--config", str(d / "mc-service.yaml")],
            env={**self.env, "PROJECT_ENCRYPTION_KEY": key}, stdout=subprocess.DEVNULL,
            stderr=open(d / "log", "wb")))  # noqa: SIM115
        for _ in range(400):
            if (d / "mcd.sock").exists():
                break
            time.sleep(0.05)
        time.sleep(0.5)
        self.mc("remote", "add", name, f"unix://{d / 'mcd.sock'}")
        return name

    def _swarm(self, cluster: Any, url: str) -> None:
        from mc.projects.crypto import generate_key

        image = self.base_image()
        if cluster.docker(cluster.manager, "image", "inspect", image, check=False).returncode != 0:
            cluster.load(cluster.manager, "debian:bookworm-slim", image)  # what mcd's build there would make
        engine = self.start_mcd()
        key = generate_key()
        a, b = (self._replica(cluster, url, name, key) for name in ("sw-a", "sw-b"))
        create = ("session", "create", "--driver", "base", "--no-connect")
        self.mc("-r", a, *create, "--rm", "--run", "true")  # the image pushed, and on both workers
        for _ in range(2):
            self.mc("-r", a, *create)
        self.mc("-r", a, "session", "close", "--all")

        def clean() -> None:
            for name in (a, engine):
                self.mc("-r", name, "session", "close", "--all", check=False)

        # warm: the owner's network already on both workers (a session of theirs runs there), as
        # it is once a team works; cold: the first session of an owner on a node, which waits for
        # Swarm to bring the overlay network to that node
        for _ in range(2):
            self.mc("-r", a, *create)
        ours, floor = interleave(lambda: self.mc("-r", a, *create), lambda: self.mc("-r", engine, *create),
                                 self.reps)
        self.row("session create until ready: swarm vs single engine", ours, floor, "<= 1.5x",
                 note="both through mcd; warm")
        ours, floor = interleave(lambda: self.mc("-r", a, *create), lambda: self.mc("-r", engine, *create),
                                 max(3, self.reps // 2), before=clean)
        self.row("  the same, cold (no session of the owner left)", ours, floor, "-", note="both through mcd")
        clean()
        # what Swarm itself takes: a service of the same image, until its task runs (and its shell answers)
        digest = cluster.docker(cluster.manager, "service", "inspect", "--format",
                                "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                                f"mc-{json.loads(self.mc('-r', a, *create, '-o', 'json').stdout)['id']}").stdout.strip()
        clean()
        raw: list[str] = []

        def raw_service() -> None:
            name = f"bench-raw-{len(raw)}"
            raw.append(name)
            cluster.docker(cluster.manager, "service", "create", "--detach", "--name", name, "--restart-condition",
                           "none", "--no-resolve-image", "--constraint", "node.labels.mc.pool==sessions",
                           "--entrypoint", "sleep", digest, "600")
            while "Running" not in cluster.docker(cluster.manager, "service", "ps", "--format", "{{.CurrentState}}",
                                                  name).stdout:
                time.sleep(0.02)

        ours, floor = interleave(lambda: self.mc("-r", a, *create), raw_service, self.reps, before=clean)
        self.row("session create on the swarm: mc vs docker service create", ours, floor, "-",
                 note="floor: until its task runs, polled every 20 ms, no mc")
        clean()
        cluster.docker(cluster.manager, "service", "rm", *raw, check=False)
        # 50 concurrent Create calls from gRPC clients, 25 to each replica, vs 50 to mcd on one engine
        os.environ.update({k: v for k, v in self.env.items() if k.startswith(("XDG_", "MC_"))})
        from mc.engine.models import SessionSpec
        from mc.remote.client import RemoteBackend

        clients = {name: RemoteBackend(name, f"unix://{self.tmp / d / 'mcd.sock'}")
                   for name, d in ((a, a), (b, b), (engine, "mcd"))}

        def burst(names: list[str]) -> tuple[float, int]:
            def one(i: int) -> int:
                try:
                    clients[names[i % len(names)]].create(SessionSpec(driver="base"))
                    return 0
                except Exception as exc:
                    print(f"    create failed: {exc}", flush=True)
                    return 1

            start = time.perf_counter()
            with ThreadPoolExecutor(50) as pool:
                failed = sum(pool.map(one, range(50)))
            return time.perf_counter() - start, failed

        clean()
        ours_t, ours_failed = burst([a, b])
        listed = json.loads(self.mc("-r", b, "session", "list", "-o", "json").stdout)
        clean()
        floor_t, floor_failed = burst([engine])
        clean()
        self.row("50 concurrent creates: 2 replicas on a swarm vs 1 engine", ours_t, floor_t, "0 failures",
                 note=f"failures {ours_failed} vs {floor_failed}; {len(listed)} listed through the other replica")
        # keystroke echo: a session on a worker, through mcd, vs docker exec -it on that worker's engine
        s = json.loads(self.mc("-r", a, *create, "-o", "json").stdout)
        ps = cluster.docker(cluster.manager, "service", "ps", "--format", "{{.Node}}", f"mc-{s['id']}")
        worker = next(w for w in cluster.workers if w.name == ps.stdout.split()[0])
        container = s["container"]  # (on a cluster: the task's container id, on that worker)
        tls = [f"--tlscacert={cluster.certs}/ca.pem", f"--tlscert={cluster.certs}/cert.pem",
               f"--tlskey={cluster.certs}/key.pem"]
        direct = ["docker", "-H", worker.host, "--tlsverify", *tls, "exec", "-it", container, "bash", "--norc"]
        ours_ms: list[float] = []
        floor_ms: list[float] = []
        for _ in range(2):
            ours_ms += self._echo_latency([*MC, "-r", a, "session", "connect", s["id"]], self.env)
            floor_ms += self._echo_latency(direct, self.env)
        self.echo_row("a session on a worker, through mcd,", ours_ms, floor_ms, "<= 1.6x")
        clean()

    def binaries(self) -> None:
        dist = ROOT / "dist"
        if not (dist / "mc").exists() or not (dist / "mc-onedir" / "mc").exists():
            sh(["bash", str(ROOT / "scripts" / "build-binaries.sh")])
        sh([str(dist / "mc"), "--version"])  # the one-time unpack happens outside the measurement
        ours, floor = interleave(lambda: sh([str(dist / "mc"), "--help"]),
                                 lambda: sh([str(dist / "mc-onedir" / "mc"), "--help"]), self.reps * 2)
        self.row("single-file mc --help vs one-directory build", ours, floor, "<= 1.5x")
        ours, floor = interleave(lambda: sh([str(dist / "mc-onefile"), "--help"]),
                                 lambda: sh([str(dist / "mc-onedir" / "mc"), "--help"]), self.reps)
        self.row("(PyInstaller one-file mode, for reference)", ours, floor, "-")


ALL = ["help", "session_list", "create_and_exec", "one_shot", "stop_start", "port_forward", "egress", "keystrokes",
       "browser", "logs", "log_forwarding", "parallel_creates", "swarm", "binaries"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--only", nargs="*", choices=ALL, default=ALL)
    args = parser.parse_args()
    bench = Bench(args.reps)
    print(f"mc benchmarks ({args.reps} interleaved repetitions, medians)")
    try:
        for name in args.only:
            getattr(bench, name)()
    finally:
        bench.close()
    if args.json:
        Path(args.json).write_text(json.dumps(bench.rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
