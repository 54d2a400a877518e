"""mcd's browser terminal in a real headless Chromium (Debian's, driven by Playwright), logged in
through the real OIDC provider's own pages."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from tests.conftest import McEnv, make_env, mc_command, remove_owned
from tests.mcd_harness import McdProcess, free_port, mcd_env, ticker_driver, wait_serving, write_config
from tests.oidc_harness import Browser, Provider, self_signed

pytestmark = pytest.mark.engine
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]
GRACE = 8  # seconds a dropped shell waits


@dataclass
class Web:
    daemon: McdProcess
    grpc_url: str
    url: str
    cert: Path
    tmp: Path


@pytest.fixture(scope="module")
def provider():
    p = Provider(access_ttl=30)  # short: the page's login is refreshed with the provider while it runs
    yield p
    p.stop()


@pytest.fixture(scope="module")
def web(engine, provider, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    cert, key = self_signed(tmp)
    port, web_port = free_port(), free_port()
    config = write_config(
        tmp / "mcd",
        server={"host": "127.0.0.1", "port": port, "tls": {"cert": str(cert), "key": str(key)},
                "web": {"port": web_port, "url": f"https://127.0.0.1:{web_port}"}},
        auth={"issuer": provider.issuer, "client_id": "mc-service", "client_secret": "${MCD_CLIENT_SECRET}",
              "admin_group": "mc-admins"},
        sessions={"shell_grace": GRACE},
        drivers=[{"name": "ticker", "path": str(ticker_driver(tmp))}],
    )
    env = mcd_env({**make_env(tmp).env, "MCD_CLIENT_SECRET": "mc-service-secret"})
    daemon = McdProcess(config, env, tmp / "mcd" / "mcd.sock", tmp / "mcd.log").start()
    wait_serving(f"127.0.0.1:{port}", grpc.ssl_channel_credentials(cert.read_bytes()))
    yield Web(daemon, f"grpcs://127.0.0.1:{port}", f"https://127.0.0.1:{web_port}", cert, tmp)
    daemon.stop()


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


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


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


def open_terminal(page, web: Web, session: str) -> None:
    navigate(page, f"{web.url}/#/terminal/{session}")
    page.wait_for_function("() => !!window.mcTerm")
    wait_text(page, r"(?m)[#$]\s*$")


def type_line(page, line: str) -> None:
    page.locator("#terminal").click()
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def test_browser_terminal_login_type_resize_reload_logs_exit_logout(web, chromium, tmp_path):
    name, mc = user(web, tmp_path)
    s = json.loads(mc.ok("-r", "w", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    ticker = json.loads(mc.ok("-r", "w", "session", "create", "--driver", "ticker", "--no-connect", "-o", "json"))
    requests_seen: list[str] = []
    try:
        context, page = browser_login(chromium, web, name)
        page.on("request", lambda r: requests_seen.append(r.url))
        rows = page.locator("#sessions tbody tr")
        assert rows.count() == 2 and s["id"] in page.inner_text("#sessions")

        page.click(f"button.terminal[data-session='{s['id']}']")
        page.wait_for_function("() => !!window.mcTerm")
        wait_text(page, r"(?m)[#$]\s*$")
        type_line(page, "echo $((6*7))")
        assert re.search(r"^42$", wait_text(page, r"(?m)^42$"), re.M)

        # resize follows the browser window
        size = page.evaluate("() => [window.mcTerm.rows, window.mcTerm.cols]")
        page.set_viewport_size({"width": 1300, "height": 800})
        page.wait_for_function(f"() => window.mcTerm.cols > {size[1]} && window.mcTerm.rows > {size[0]}")
        new = page.evaluate("() => [window.mcTerm.rows, window.mcTerm.cols]")
        time.sleep(0.3)
        type_line(page, "stty size")
        wait_text(page, rf"(?m)^{new[0]} {new[1]}$")

        # UTF-8 output, whatever chunks it arrives in
        type_line(page, r"printf '\xc3\xa9t\xc3\xa9 \xe2\x9c\x93\n'")
        wait_text(page, "(?m)^été ✓$")

        # a reload finds the same shell, its screen replayed
        type_line(page, "export KEPT=kept-$((40+2))")
        wait_text(page, r"export KEPT")
        navigate(page)
        page.wait_for_function("() => !!window.mcTerm")
        assert "resumed shell" in page.wait_for_selector("#status:has-text('resumed')").inner_text()
        wait_text(page, r"export KEPT")  # the recent screen, replayed
        type_line(page, "echo $KEPT")
        wait_text(page, r"(?m)^kept-42$")

        # live logs
        navigate(page, f"{web.url}/#/logs/{ticker['id']}")
        page.wait_for_function("() => /tick \\d+/.test(document.querySelector('#logs').textContent)")
        first = page.inner_text("#logs").count("tick")
        page.wait_for_function(f"() => (document.querySelector('#logs').textContent.match(/tick/g) || []).length"
                               f" > {first + 3}")

        # exit ends the page's terminal with its code
        open_terminal(page, web, s["id"])
        type_line(page, "exit 3")
        page.wait_for_function("() => document.body.dataset.exitCode === '3'")
        assert "[exited with code 3]" in terminal_text(page)

        # no token anywhere the page can reach: URLs, the page, its storage, script-readable cookies
        cookies = {c["name"]: c for c in context.cookies()}
        login = cookies["mc_login"]
        assert login["httpOnly"] and login["secure"] and login["sameSite"] == "Lax"
        storage = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
                                " document.cookie])")
        for text in [*requests_seen, page.content(), storage]:
            assert not re.search(r"eyJ[\w-]{10,}\.|access_token|refresh_token|id_token", text), text[:200]
        assert "mc_login" not in storage

        # logout ends the login: the API and the WebSocket refuse it
        navigate(page, web.url + "/")
        page.click("#logout")
        page.wait_for_selector("text=Logged out")
        assert page.request.get(web.url + "/api/me").status == 401
        assert ws_status(web, s["id"], login["value"]) == 401
    finally:
        mc.run("-r", "w", "session", "close", "--all")
        remove_owned(name)


def ws_status(web: Web, session: str, cookie: str, origin: str | None = None) -> int:
    """The HTTP status a WebSocket upgrade to the session's terminal gets (101 when it opens)."""
    import aiohttp

    async def go() -> int:
        async with aiohttp.ClientSession(cookies={"mc_login": cookie}) as http:
            try:
                ws = await http.ws_connect(f"{web.url}/ws/terminal/{session}", ssl=False,
                                           headers={"Origin": origin or web.url})
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
            await ws.close()
            return 101

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # (Playwright's sync API holds this thread's event loop)
        return pool.submit(lambda: asyncio.run(go())).result()


def test_other_users_browser_and_other_sites_are_refused(web, chromium, tmp_path):
    alice, alice_mc = user(web, tmp_path)
    bob, _ = user(web, tmp_path)
    s = json.loads(alice_mc.ok("-r", "w", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    try:
        a_context, _ = browser_login(chromium, web, alice)
        b_context, b_page = browser_login(chromium, web, bob)
        a_cookie = {c["name"]: c["value"] for c in a_context.cookies()}["mc_login"]
        b_cookie = {c["name"]: c["value"] for c in b_context.cookies()}["mc_login"]
        assert b_page.locator("#sessions tbody tr").count() == 0  # alice's session is not in bob's list
        assert b_page.request.get(f"{web.url}/api/sessions/{s['id']}").status == 403
        navigate(b_page, f"{web.url}/#/terminal/{s['id']}")
        b_page.wait_for_selector("#status:has-text('of yours')")
        assert ws_status(web, s["id"], b_cookie) == 403
        assert ws_status(web, s["id"], a_cookie) == 101  # the same upgrade is fine for its owner...
        assert ws_status(web, s["id"], a_cookie, origin="https://evil.example") == 403  # ...from its own site
        assert ws_status(web, s["id"], "forged") == 401
        # a logout posted from another site is refused
        resp = b_page.request.post(web.url + "/auth/logout", headers={"Origin": "https://evil.example"})
        assert resp.status == 403
        assert b_page.request.get(web.url + "/api/me").status == 200
    finally:
        alice_mc.run("-r", "w", "session", "close", "--all")
        remove_owned(alice)
