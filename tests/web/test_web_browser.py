"""The web console in a real browser (Debian's headless Chromium + Selenium) against a
real 3-node testbed cluster: login, live state, relocate by clicking, a crash watched live,
and the refusals (wrong password, no session, cross-site POST).

Screenshots of the main pages go to $HACORE_WEB_SCREENSHOTS when it is set
(docs/screenshots/ was made that way).
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_support import Browser, browser_missing

from hacore.daemon.testbed import HacoreTestbed, wait_for_namespace_turn
from hacore.testing.pytest_fixtures import skip_unless_testbed
from hacore.web.passwords import write_password_file

pytestmark = [pytest.mark.netns, pytest.mark.slow]

PASSWORD = "console-pass-1"
PORT = 8443
WAIT = 90.0


class WebTestbed(HacoreTestbed):
    """The usual testbed cluster with [web] on, and a console password on every node."""

    def write_config(self) -> None:
        super().write_config()
        for node in self.c.nodes:
            config = Path(node.etc_dir) / "cluster.toml"
            config.write_text(config.read_text() + f"\n[web]\nport = {PORT}\n")
            write_password_file(Path(node.etc_dir) / "web.passwd", PASSWORD)


@pytest.fixture(scope="module")
def bed():
    """The cluster with hacore and its consoles running (web started somewhere)."""
    skip_unless_testbed()
    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    why = wait_for_namespace_turn()
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    from hacore.testing import Cluster
    from hacore.testing.leaks import leak_check

    with leak_check(), Cluster(nodes=3) as c:
        b = WebTestbed(c).start()
        try:
            b.wait(lambda: (b.web(c.nodes[0]) or {}).get("state") == "started", WAIT,
                   "web started")
            yield b
        finally:
            b.stop()
            if os.environ.get("HACORE_SHOW_LOGS"):
                print(b.tail_logs(200))


@pytest.fixture(scope="module")
def browser(bed):
    """One Chromium for the module, living in the client namespace."""
    b = Browser(bed.c.client.netns_path).start()
    try:
        yield b
    finally:
        b.close()


def url(bed, path: str = "/", node: int = 0) -> str:
    return f"https://{bed.c.nodes[node].address}:{PORT}{path}"


def http(browser, method: str, target: str, body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One HTTPS request from the client namespace (the browser's thread), any certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def go() -> tuple[int, dict, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(target, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=20) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    return browser.run(go)


def shot(browser, name: str) -> None:
    folder = os.environ.get("HACORE_WEB_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        browser.call(lambda d: d.save_screenshot(os.path.join(folder, f"{name}.png")))


def wait_in_page(browser, condition, timeout: float = WAIT, what: str = "") -> None:
    """Wait (in the browser thread) until ``condition(driver)`` is truthy."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    live_page = (NoSuchElementException, StaleElementReferenceException)  # rows get replaced
    browser.call(lambda d: WebDriverWait(d, timeout, poll_frequency=0.2,
                                         ignored_exceptions=live_page).until(
        condition, message=what), timeout=timeout + 30)


def attr(browser, css: str, name: str) -> str | None:
    from selenium.webdriver.common.by import By

    def read(d):
        found = d.find_elements(By.CSS_SELECTOR, css)
        return found[0].get_attribute(name) if found else None

    return browser.call(read)


def log_in(browser, bed, password: str) -> None:
    from selenium.webdriver.common.by import By

    def go(d):
        d.get(url(bed))
        d.find_element(By.ID, "password").send_keys(password)
        d.find_element(By.ID, "login-button").click()

    browser.call(go)


def test_wrong_password_is_refused(bed, browser):
    """A wrong password leaves the browser on the login page, told so, without a session."""
    from selenium.webdriver.common.by import By

    browser.call(lambda d: d.get(url(bed)))
    shot(browser, "login")
    log_in(browser, bed, "not-the-password")
    wait_in_page(browser, lambda d: "Wrong password" in d.find_element(By.ID, "login-error").text,
                 what="the login page says the password is wrong")
    assert browser.call(lambda d: d.get_cookie("hacore_session")) is None
    assert browser.call(lambda d: d.find_elements(By.ID, "services")) == []


def test_api_without_a_session_is_refused(bed, browser):
    """From the client: /health answers, /api/status and a write without a session get 401."""
    status, _h, body = http(browser, "GET", url(bed, "/health"))
    assert status == 200 and json.loads(body)["node"] == "n1"
    status, _h, body = http(browser, "GET", url(bed, "/api/status"))
    assert status == 401 and "log in" in json.loads(body)["error"]["message"]
    status, _h, _b = http(browser, "POST", url(bed, "/api/service"),
                          {"op": "disable", "service": "web"})
    assert status == 401
    assert bed.web(bed.c.nodes[0])["state"] == "started"


def test_cross_site_post_is_refused(bed, browser):
    """With a valid session cookie, a POST with no or a foreign Origin and no CSRF token
    is refused (403) and the service is untouched."""
    status, headers, body = http(browser, "POST", url(bed, "/login"), {"password": PASSWORD},
                                 {"Origin": url(bed, "").rstrip("/")})
    assert status == 200, body
    cookie = headers["Set-Cookie"].split(";")[0]
    token = json.loads(body)["csrf"]
    disable = {"op": "disable", "service": "web"}
    for extra in ({}, {"Origin": "https://attacker.example"},
                  {"Origin": "https://attacker.example", "X-CSRF-Token": token},
                  {"Origin": url(bed, "").rstrip("/")}):
        status, _h, body = http(browser, "POST", url(bed, "/api/service"), disable,
                                {"Cookie": cookie, **extra})
        assert status == 403, (extra, body)
    status, _h, body = http(browser, "GET", url(bed, "/api/status"), None, {"Cookie": cookie})
    assert status == 200 and json.loads(body)["services"][0]["state"] == "started"
    status, _h, _b = http(browser, "POST", url(bed, "/login"), {"password": PASSWORD},
                          {"Origin": "https://attacker.example"})
    assert status == 403  # nor may another site log a browser in


def test_login_shows_three_nodes_online_and_the_service(bed, browser):
    """After login the console shows quorum, three Online nodes and web started."""
    from selenium.webdriver.common.by import By

    log_in(browser, bed, PASSWORD)
    wait_in_page(browser, lambda d: len(d.find_elements(
        By.CSS_SELECTOR, '#nodes tr[data-state="Online"]')) == 3, what="three nodes Online")
    wait_in_page(browser, lambda d: d.find_element(By.ID, "svc-web").get_attribute(
        "data-state") == "started", what="web started")
    quorum = browser.call(lambda d: d.find_element(By.ID, "quorum").text)
    assert quorum.startswith("Quorate") and "3/3" in quorum
    cookie = browser.call(lambda d: d.get_cookie("hacore_session"))
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    shot(browser, "overview")


ATTACK_PAGE = """<!DOCTYPE html><html><body>
<form id="f" method="post" action="{target}">
<input name="op" value="disable"><input name="service" value="web">
</form><script>document.getElementById("f").submit();</script></body></html>"""


def test_cross_site_form_in_the_browser_is_refused(bed, browser):
    """A logged-in browser opening another site's page that auto-posts a form to the
    console: the POST is refused and web keeps running; the console still works after."""
    import http.server
    import threading

    from selenium.webdriver.common.by import By

    page = ATTACK_PAGE.format(target=url(bed, "/api/service")).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        timeout = 5  # the browser's idle (pre)connections must not hold the server
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    # the listening socket is made in the client namespace (the browser's thread)
    server = browser.run(lambda: http.server.ThreadingHTTPServer((bed.c.client.address, 0),
                                                                  Attacker))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        browser.call(lambda d: d.get(f"http://{bed.c.client.address}:{port}/"))
        wait_in_page(browser, lambda d: d.current_url.startswith(url(bed, "/api/service")),
                     what="the form was posted to the console")
        body = browser.call(lambda d: d.find_element(By.TAG_NAME, "body").text)
        assert '"error"' in body and ("log in first" in body or "CSRF" in body), body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert bed.web(bed.c.nodes[0])["state"] == "started"
    browser.call(lambda d: d.get(url(bed)))
    wait_in_page(browser, lambda d: d.find_element(By.ID, "svc-web").get_attribute(
        "data-state") == "started", what="the console, still logged in")


def test_relocate_by_clicking_moves_the_service(bed, browser):
    """Choose a node and click relocate: the row shows the new owner without a reload."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    before = attr(browser, "#svc-web", "data-owner")
    target = "n2" if before != "n2" else "n3"
    marker = browser.call(lambda d: d.execute_script("window.__same_page = 1; return 1"))

    def click(d):
        Select(d.find_element(By.CSS_SELECTOR, 'select.relocate-to[data-service="web"]')
               ).select_by_value(target)
        d.find_element(By.CSS_SELECTOR, 'button[data-op="relocate"][data-service="web"]').click()

    browser.call(click)
    wait_in_page(browser, lambda d: d.find_element(By.ID, "svc-web").get_attribute(
        "data-owner") == target and d.find_element(By.ID, "svc-web").get_attribute(
        "data-state") == "started", what=f"web started on {target}")
    assert browser.call(lambda d: d.execute_script("return window.__same_page")) == marker
    assert bed.web(bed.c.nodes[0])["owner"] == target
    assert "done" in browser.call(lambda d: d.find_element(By.ID, "message").text)
    shot(browser, "relocated")


def test_events_and_why_views(bed, browser):
    """The Events tab lists the journal (the relocation among it); Why explains web."""
    from selenium.webdriver.common.by import By

    browser.call(lambda d: d.find_element(By.ID, "tab-events").click())
    wait_in_page(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#events tbody tr")) > 0,
                 what="journal rows")

    def every_node(d):
        d.find_element(By.ID, "events-cluster").click()
        d.find_element(By.ID, "events-load").click()

    browser.call(every_node)
    wait_in_page(browser, lambda d: {"n2", "n3"} <= {
        td.text for td in d.find_elements(By.CSS_SELECTOR, "#events tbody td:nth-child(2)")},
        what="events recorded by n2 and n3 in the merged journal")
    # the relocation is journalled by whichever node coordinated (not always n1, whose
    # own journal the tab shows first): look for it in the merged one
    wait_in_page(browser, lambda d: "relocate" in d.find_element(By.ID, "events").text.lower(),
                 what="the relocation in the merged journal")
    shot(browser, "events")
    browser.call(lambda d: d.find_element(By.ID, "tab-why").click())
    browser.call(lambda d: d.find_element(By.ID, "why-load").click())
    wait_in_page(browser, lambda d: "web runs on" in d.find_element(By.ID, "why-result").text,
                 what="why web")
    assert browser.call(lambda d: len(d.find_elements(By.CSS_SELECTOR, "ul.candidates li"))) == 3
    assert "null" not in browser.call(lambda d: d.find_element(By.ID, "why-result").text)
    shot(browser, "why")


def test_config_form_shows_validation_errors_at_the_field(bed, browser):
    """A service naming a resource that does not exist is refused; the error shows at
    the resources field and the configuration stays as it was."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    version = bed.status(bed.c.nodes[0])["config_version"]

    def fill(d):
        d.find_element(By.ID, "tab-config").click()
        Select(d.find_element(By.ID, "cf-kind")).select_by_value("services")
        d.find_element(By.ID, "cf-name").send_keys("extra")
        d.find_element(By.ID, "cf-tree").send_keys("ghost")
        d.find_element(By.ID, "cf-submit").click()

    browser.call(fill)
    wait_in_page(browser, lambda d: d.find_element(By.ID, "err-tree").text
                 or d.find_element(By.ID, "err-general").text, what="a validation error")
    at_field = browser.call(lambda d: d.find_element(By.ID, "err-tree").text)
    general = browser.call(lambda d: d.find_element(By.ID, "err-general").text)
    shot(browser, "config")
    if "unknown API method 'config_push'" in general:
        pytest.xfail("config_push is not in this daemon's API yet")
    assert "ghost" in at_field, (at_field, general)
    assert bed.status(bed.c.nodes[0])["config_version"] == version
    browser.call(lambda d: d.find_element(By.ID, "tab-overview").click())


def test_config_form_adds_a_resource_on_every_node(bed, browser):
    """A resource added with the form is a new configuration version on every node, and
    the console (its [web] table kept) goes on working."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    version = bed.status(bed.c.nodes[0])["config_version"]
    address = bed.c.free_address(7)

    def fill(d):
        d.find_element(By.ID, "tab-config").click()
        Select(d.find_element(By.ID, "cf-kind")).select_by_value("resources")
        for field in ("cf-name", "cf-agent", "cf-params", "cf-monitor"):
            d.find_element(By.ID, field).clear()
        d.find_element(By.ID, "cf-name").send_keys("spare")
        d.find_element(By.ID, "cf-agent").send_keys("ip")
        d.find_element(By.ID, "cf-params").send_keys(f"address = {address}/24")
        d.find_element(By.ID, "cf-monitor").send_keys("5")
        d.find_element(By.ID, "cf-submit").click()

    browser.call(fill)
    wait_in_page(browser, lambda d: "pushed" in d.find_element(By.ID, "message").text
                 or d.find_element(By.ID, "err-general").text
                 or d.find_element(By.ID, "err-params").text, what="the push answered")
    errors = browser.call(lambda d: [e.text for e in d.find_elements(
        By.CSS_SELECTOR, ".field-error") if e.text])
    assert not errors, errors
    for node in bed.c.nodes:
        bed.wait(lambda n=node: bed.status(n)["config_version"] == version + 1, WAIT,
                 f"config version {version + 1} on {node.name}")
    wait_in_page(browser, lambda d: "[resources.spare]" in d.execute_script(
        "return document.getElementById('config-text').textContent"), what="new text shown")
    status, _h, _b = http(browser, "GET", url(bed, "/health"))
    assert status == 200
    browser.call(lambda d: d.find_element(By.ID, "tab-overview").click())


def test_config_form_changes_what_it_shows_and_keeps_the_rest(bed, browser):
    """Naming an existing resource fills the form from the configuration; changing one
    field rewrites only that key; an existing service's tree reads 'vip > www'."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    version = bed.status(bed.c.nodes[0])["config_version"]

    def name(d, kind, text):
        d.find_element(By.ID, "tab-config").click()
        Select(d.find_element(By.ID, "cf-kind")).select_by_value(kind)
        field = d.find_element(By.ID, "cf-name")
        field.clear()
        field.send_keys(text, Keys.TAB)

    browser.call(lambda d: name(d, "services", "web"))
    wait_in_page(browser, lambda d: d.find_element(By.ID, "cf-tree").get_attribute("value")
                 == "vip > www", what="web's tree in the form")
    assert browser.call(lambda d: d.find_element(By.ID, "cf-recovery").get_attribute(
        "value")) == "relocate"
    browser.call(lambda d: name(d, "resources", "spare"))
    wait_in_page(browser, lambda d: d.find_element(By.ID, "cf-agent").get_attribute("value")
                 == "ip", what="spare's agent in the form")
    params = browser.call(lambda d: d.find_element(By.ID, "cf-params").get_attribute("value"))
    assert params.startswith("address = ")

    def change(d):
        monitor = d.find_element(By.ID, "cf-monitor")
        monitor.clear()
        monitor.send_keys("7")
        d.find_element(By.ID, "cf-submit").click()

    browser.call(change)
    for node in bed.c.nodes:
        bed.wait(lambda n=node: bed.status(n)["config_version"] == version + 1, WAIT,
                 f"config version {version + 1} on {node.name}")
    status, headers, _body = http(browser, "POST", url(bed, "/login"), {"password": PASSWORD},
                                  {"Origin": url(bed, "").rstrip("/")})
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    shown = json.loads(http(browser, "GET", url(bed, "/api/config_show"), None,
                            {"Cookie": cookie})[2])
    spare = next(r for r in shown["config"]["resources"] if r["name"] == "spare")
    assert spare["agent"] == "ip" and "address" in spare["params"]
    assert next(o for o in spare["operations"] if o["name"] == "monitor")["interval"] == 7
    assert "[web]" in shown["text"]
    browser.call(lambda d: d.find_element(By.ID, "tab-overview").click())


def test_join_token_control_shows_a_join_command_for_this_cluster(bed, browser):
    """New join token (TTL 600 s) shows `hacore cluster join ADDR --token ...` as the CLI
    prints it: the token parses, names this cluster's CA fingerprint and ADDR, and the
    expiry shown is the token's."""
    from selenium.webdriver.common.by import By

    from hacore.bootstrap.token import parse_token
    from hacore.tls import cluster_ca

    def ask(d):
        d.find_element(By.ID, "tab-overview").click()
        ttl = d.find_element(By.ID, "token-ttl")
        ttl.clear()
        ttl.send_keys("600")
        d.find_element(By.ID, "token-new").click()

    t0 = time.time()
    browser.call(ask)
    wait_in_page(browser, lambda d: d.find_element(By.ID, "join-command").text.startswith(
        "hacore cluster join ") or "error" in d.find_element(By.ID, "message").get_attribute(
        "class"), what="a join command (or a refusal)")
    command = browser.call(lambda d: d.find_element(By.ID, "join-command").text)
    words = command.split()
    assert words[:3] == ["hacore", "cluster", "join"] and words[4] == "--token", command
    token = parse_token(words[5])
    key = (Path(bed.c.nodes[0].etc_dir) / "cluster.key").read_bytes()
    assert token.fingerprint == cluster_ca(key).fingerprint()
    assert words[3] == token.addresses[0] and words[3].startswith(bed.c.nodes[0].address + ":")
    assert t0 + 500 < token.expires <= time.time() + 601
    expires = browser.call(lambda d: d.find_element(By.ID, "token-expires").text)
    assert expires == time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(token.expires))
    shown = browser.call(lambda d: d.find_element(By.ID, "token-fingerprint").text)
    assert shown == "sha256:" + token.fingerprint
    shot(browser, "join-token")


def node_rows(browser) -> list[tuple[str, str]]:
    """(row id, state) of every row of the Nodes table."""
    from selenium.webdriver.common.by import By

    return browser.call(lambda d: [(r.get_attribute("id"), r.get_attribute("data-state"))
                                   for r in d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")])


def click_remove(browser, name: str) -> None:
    """Remove, then the confirmation's yes, on node ``name``'s row."""
    from selenium.webdriver.common.by import By

    browser.call(lambda d: d.find_element(
        By.CSS_SELECTOR, f'button[data-op="remove"][data-node="{name}"]').click())
    wait_in_page(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, f'button[data-op="remove-confirm"][data-node="{name}"]'),
        what=f"the confirmation for {name}")
    browser.call(lambda d: d.find_element(
        By.CSS_SELECTOR, f'button[data-op="remove-confirm"][data-node="{name}"]').click())


def test_remove_of_an_online_member_is_refused(bed, browser):
    """Remove asks first (cancel sends nothing); confirmed on an Online member (not the
    coordinator) it is refused, the message says the node is a member, and the node list
    and the configuration version stay as they were."""
    from selenium.webdriver.common.by import By

    status = bed.status(bed.c.nodes[0])
    version = status["config_version"]
    target = next(m["name"] for m in status["members"]
                  if not m["local"] and not m["coordinator"])
    before = node_rows(browser)
    assert len(before) == 3 and {s for _i, s in before} == {"Online"}

    def remove_then_cancel(d):
        d.find_element(By.CSS_SELECTOR, f'button[data-op="remove"][data-node="{target}"]').click()
        text = d.find_element(By.ID, f"node-{target}").text
        d.find_element(By.CSS_SELECTOR, f'button[data-op="remove-cancel"]'
                                        f'[data-node="{target}"]').click()
        return text

    asked = browser.call(remove_then_cancel)
    assert f"Remove {target} from the configuration?" in asked
    assert browser.call(lambda d: d.find_elements(
        By.CSS_SELECTOR, "button[data-op=remove-confirm]")) == []
    click_remove(browser, target)
    wait_in_page(browser, lambda d: f"remove {target}: " in d.find_element(By.ID, "message").text,
                 what="the answer to remove")
    text = browser.call(lambda d: d.find_element(By.ID, "message").text)
    assert f"{target} is a member: stop it first" in text, text
    assert browser.call(lambda d: d.find_element(By.ID, "message").get_attribute(
        "class")) == "message error"
    shot(browser, "remove-refused")
    assert node_rows(browser) == before
    assert all(bed.status(n)["config_version"] == version for n in bed.c.nodes)


def test_crash_watched_live(bed, browser):
    """Crash the service's owner: the console shows it Offline and web started elsewhere."""
    from selenium.webdriver.common.by import By

    owner = attr(browser, "#svc-web", "data-owner")
    assert owner and owner != "n1"  # the console's node stays up
    victim = bed.c.node(owner)
    t0 = time.monotonic()
    bed.c.crash(victim)
    wait_in_page(browser, lambda d: d.find_element(By.ID, f"node-{owner}").get_attribute(
        "data-state") == "Offline", what=f"{owner} Offline")
    wait_in_page(browser, lambda d: d.find_element(By.ID, "svc-web").get_attribute(
        "data-state") == "started" and d.find_element(By.ID, "svc-web").get_attribute(
        "data-owner") not in ("", owner), what="web started elsewhere")
    shot(browser, "failover")
    new_owner = attr(browser, "#svc-web", "data-owner")
    assert new_owner != owner and bed.web(bed.c.nodes[0])["owner"] == new_owner
    assert time.monotonic() - t0 < WAIT * 2


def test_remove_of_the_crashed_node_shrinks_the_list(bed, browser):
    """The node crashed (and fenced) above is Offline; Remove confirmed takes it out of the
    configuration on the remaining nodes, its row goes and expected votes drop to 2."""
    from selenium.webdriver.common.by import By

    gone = next(i[len("node-"):] for i, s in node_rows(browser) if s == "Offline")
    version = bed.status(bed.c.nodes[0])["config_version"]
    click_remove(browser, gone)
    wait_in_page(browser, lambda d: f"removed {gone}" in d.find_element(By.ID, "message").text
                 or "error" in d.find_element(By.ID, "message").get_attribute("class"),
                 what="the answer to remove")
    text = browser.call(lambda d: d.find_element(By.ID, "message").text)
    assert f"removed {gone}: configuration version {version + 1}" in text, text
    assert "expected votes 3 -> 2" in text
    wait_in_page(browser, lambda d: not d.find_elements(By.ID, f"node-{gone}"),
                 what=f"{gone}'s row gone")
    assert len(node_rows(browser)) == 2
    for node in bed.c.nodes:
        if node.name != gone:
            bed.wait(lambda n=node: bed.status(n)["config_version"] == version + 1, WAIT,
                     f"config version {version + 1} on {node.name}")
    wait_in_page(browser, lambda d: "2/2" in d.find_element(By.ID, "quorum").text,
                 what="quorum over 2 expected votes")
