"""mcd's browser terminal in a real headless Chromium (Debian's, driven by Playwright), logged in
through the real OIDC provider's own pages."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from tests.conftest import driver_image_on_manager, remove_owned, swarm_config
from tests.oidc_harness import Provider
from tests.web_harness import PROMPT, Web, browser_login, launch, navigate, start_web, terminal_text, user, wait_text

pytestmark = pytest.mark.engine
GRACE = 8  # seconds a dropped shell waits


@pytest.fixture(scope="module")
def provider():
    p = Provider(access_ttl=30)  # short: the page's login is refreshed with the provider while it runs
    yield p
    p.stop()


@pytest.fixture(scope="module")
def web(engine, provider, tmp_path_factory):
    w = start_web(tmp_path_factory.mktemp("web"), provider, GRACE)
    yield w
    w.daemon.stop()


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        yield browser
        browser.close()


def open_terminal(page, web: Web, session: str) -> None:
    navigate(page, f"{web.url}/#/terminal/{session}")
    page.wait_for_function("() => !!window.mcTerm")
    wait_text(page, PROMPT)


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
        wait_text(page, PROMPT)
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


def test_browser_terminal_to_a_session_on_a_cluster_worker(swarm, provider, chromium, tmp_path_factory, tmp_path):
    """The page's terminal reaches a session on a Swarm worker through that node's engine: typing,
    resize, the exit code."""
    _, cluster = swarm
    config = swarm_config(cluster)
    web = start_web(tmp_path_factory.mktemp("web-swarm"), provider, GRACE, docker=config["docker"],
                    sessions=config["sessions"])
    name = ""
    try:
        name, mc = user(web, tmp_path)
        driver_image_on_manager(cluster, mc.env)
        s = json.loads(mc.ok("-r", "w", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        node = cluster.docker(cluster.manager, "service", "ps", "--format", "{{.Node}}", f"mc-{s['id']}").stdout
        assert node.split()[0] in {w.name for w in cluster.workers}, node
        _, page = browser_login(chromium, web, name)
        open_terminal(page, web, s["id"])
        type_line(page, "echo $((6*7)) $(hostname)")
        wait_text(page, r"(?m)^42 ")
        page.set_viewport_size({"width": 1100, "height": 700})
        time.sleep(0.3)
        rows, cols = page.evaluate("() => [window.mcTerm.rows, window.mcTerm.cols]")
        type_line(page, "stty size")
        wait_text(page, rf"(?m)^{rows} {cols}$")
        type_line(page, "exit 4")
        page.wait_for_function("() => document.body.dataset.exitCode === '4'")
    finally:
        if name:
            mc.run("-r", "w", "session", "close", "--all")
        web.daemon.stop()
