"""mcd's web app in a real headless Chromium (Debian's, driven by Playwright), logged in through the
real OIDC provider's own pages: shared by the web tests and the browser benchmarks."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from tests.conftest import McEnv, make_env, mc_command
from tests.mcd_harness import McdProcess, free_port, mcd_env, ticker_driver, wait_serving, write_config
from tests.oidc_harness import Browser, Provider, self_signed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]
PROMPT = r"(?m)[#$]\s*$"


@dataclass
class Web:
    daemon: McdProcess
    grpc_url: str
    url: str
    cert: Path
    tmp: Path


def start_web(tmp: Path, provider: Provider, grace: int, docker: dict | None = None,
              sessions: dict | None = None) -> Web:
    """mcd with its web listener on loopback, TLS from a fresh self-signed certificate, users from
    ``provider``; dropped shells wait ``grace`` seconds (``docker``, ``sessions``: more config)."""
    cert, key = self_signed(tmp)
    port, web_port = free_port(), free_port()
    config = write_config(
        tmp / "mcd",
        server={"host": "127.0.0.1", "port": port, "tls": {"cert": str(cert), "key": str(key)},
                "web": {"port": web_port, "url": f"https://127.0.0.1:{web_port}"}},
        auth={"issuer": provider.issuer, "client_id": "mc-service", "client_secret": "${MCD_CLIENT_SECRET}",
              "admin_group": "mc-admins"},
        sessions={"shell_grace": grace, **(sessions or {})},
        drivers=[{"name": "ticker", "path": str(ticker_driver(tmp))}],
        **({"docker": docker} if docker else {}),
    )
    env = mcd_env({**make_env(tmp).env, "MCD_CLIENT_SECRET": "mc-service-secret"})
    daemon = McdProcess(config, env, tmp / "mcd" / "mcd.sock", tmp / "mcd.log").start()
    wait_serving(f"127.0.0.1:{port}", grpc.ssl_channel_credentials(cert.read_bytes()))
    return Web(daemon, f"grpcs://127.0.0.1:{port}", f"https://127.0.0.1:{web_port}", cert, tmp)


def user(web: Web, tmp_path: Path) -> tuple[str, McEnv]:
    """A fresh user of the provider, logged in with mc (device flow) against the web fixture's mcd."""
    name = f"contract-{secrets.token_hex(4)}"
    (tmp_path / name).mkdir()
    mc = make_env(tmp_path / name)
    mc.env["MC_AUTH_BROWSER"] = "none"
    mc.ok("remote", "add", "w", web.grpc_url, "--ca-cert", str(web.cert))
    proc = subprocess.Popen([*mc_command(), "-r", "w", "auth", "--device"], env=mc.env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=mc.home)
    m = re.search(r"visit (\S+) and enter the code (\S+)", proc.stderr.readline())
    assert m
    Browser(name).device(m.group(1), m.group(2))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return name, mc


def launch(pw):
    """A headless Chromium of Debian's that does not try to reach the internet."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def navigate(page, url: str | None = None) -> None:
    """page.goto(url), or a reload: again when Chromium dropped it with ERR_NETWORK_CHANGED (it does
    whenever the host's interfaces change, which parallel tests' Docker networks do all the time)."""
    for attempt in range(3):
        try:
            page.goto(url) if url else page.reload()
            return
        except Exception as exc:
            if attempt == 2 or "ERR_NETWORK_CHANGED" not in str(exc):
                raise
            time.sleep(0.5)


def browser_login(chromium, web: Web, name: str):
    """A browser context logged in as ``name`` through the provider's own login and consent pages."""
    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 1000, "height": 600})
    page = context.new_page()
    problems: list[str] = []  # what the page said went wrong, for a failure's message
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    navigate(page, web.url + "/")
    page.wait_for_url(re.compile(r".*/interaction/.*"))  # the provider's login page
    page.fill("input[name=login]", name)
    page.fill("input[name=password]", f"{name}-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Continue")  # its consent page
    page.click("button[type=submit]")
    page.wait_for_url(web.url + "/")
    for attempt in range(2):
        try:
            page.wait_for_selector("#sessions tbody tr, #empty:not([hidden])", timeout=30_000)
            break
        except Exception as exc:
            # Chromium drops a page's loads with ERR_NETWORK_CHANGED when the host's interfaces change,
            # which parallel tests' Docker networks do all the time: a person would reload, once
            if attempt or not any("ERR_NETWORK_CHANGED" in p for p in problems):
                raise AssertionError(f"no session list: status {page.inner_text('#status')!r}, {problems}") from exc
            navigate(page)
    return context, page


def terminal_text(page) -> str:
    """What the page's terminal (``window.mcTerm``, an xterm.js Terminal) shows, scrollback included."""
    return page.evaluate("""() => { const b = window.mcTerm.buffer.active; const out = [];
        for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
        return out.join('\\n'); }""")


def wait_text(page, pattern: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = terminal_text(page) if page.evaluate("() => !!window.mcTerm") else ""
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never showed in the terminal:\n{text}")


# Echo in a page's terminal, timed inside the page: from a keystroke given to xterm.js (as typing
# does: its onData fires) to the moment xterm has parsed output that shows it. The same script times
# mcd's page and a bare bridge's, so their ratio is the cost of mcd's path. A character is typed,
# echoed, then erased with a backspace, so the line stays short.
ECHO_SCRIPT = """async (reps) => {
  const term = window.mcTerm;
  const line = () => {
    const b = term.buffer.active;
    return b.getLine(b.baseY + b.cursorY).translateToString().trimEnd();
  };
  const once = (ch) => new Promise((resolve) => {
    const t0 = performance.now();
    const sub = term.onWriteParsed(() => {
      if (line().endsWith(ch)) { sub.dispose(); resolve(performance.now() - t0); }
    });
    term.input(ch, true);
  });
  const erased = (before) => new Promise((resolve) => {
    const sub = term.onWriteParsed(() => { if (line() === before) { sub.dispose(); resolve(); } });
    term.input('\\x7f', true);
  });
  const out = [];
  for (let i = 0; i < reps; i++) {
    const before = line();
    out.push(await once('abcdefghij'[i % 10]));
    await erased(before);
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}"""
