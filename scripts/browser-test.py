#!/usr/bin/env python3
"""Drives the operator dashboard in headless Chromium against a running `purser serve`.

Uses only the Python standard library: Chromium is started with --remote-debugging-pipe and
spoken to over the Chrome DevTools Protocol on file descriptors 3 and 4 (NUL-separated JSON), so
no websocket client is needed. Needs the Debian package `chromium` (scripts/setup.sh installs it).

    scripts/browser-test.py --base-url http://127.0.0.1:8080 --token TOKEN --org haff \
        [--on-ready 'curl ... /webhooks/webchat'] [--ready-file PATH] [--timeout 60]

Steps: load the dashboard, sign in with the token, wait until the live stream is open (the
`#live-status` indicator says "live"), then announce readiness (a line "READY" on stdout, the
--ready-file touched, the --on-ready command started). The harness then creates a pending
approval (e.g. by posting a message to /webhooks/webchat); it must appear without a reload, over
SSE. The test approves it, opens its session, takes it over, replies "Hallo from the browser",
releases it, and checks the page has no horizontal scrolling at phone width.

Exit status 0 on success (a JSON line {"ok":true,"approvalId","sessionId"} on stdout), 1 when a
step fails (the reason on stderr, and a screenshot with --screenshot-on-failure), 2 when the
browser cannot be started.
"""

import argparse
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPLY_TEXT = "Hallo from the browser"


class StepFailed(Exception):
    pass


class Browser:
    """Chromium over --remote-debugging-pipe, one page attached in flat mode."""

    def __init__(self, executable, verbose=False):
        self.verbose = verbose
        self.next_id = 0
        self.responses = {}
        self.cond = threading.Condition()
        self.events = queue.Queue()
        self.exceptions = []
        self.console = []
        self.profile = tempfile.mkdtemp(prefix="purser-browser-test-")
        # Parent writes commands to `to_chrome_w`; Chromium reads fd 3. Chromium writes fd 4;
        # parent reads `from_chrome_r`.
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends well away from 3 and 4 so the dup2s below cannot clobber them.
        child_in = dup_high(to_chrome_r)
        child_out = dup_high(from_chrome_w)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def setup_fds():
            # Runs in the child before exec: the copies on 3 and 4 are inheritable, everything
            # else Python opened is close-on-exec.
            os.dup2(child_in, 3, inheritable=True)
            os.dup2(child_out, 4, inheritable=True)

        args = [
            executable, "--headless=new", "--disable-gpu", "--remote-debugging-pipe",
            "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,900", "--mute-audio",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")
        args.append("about:blank")
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr_file,
            preexec_fn=setup_fds, close_fds=False,
        )
        os.close(child_in)
        os.close(child_out)
        self.writer = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.reader = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.thread = threading.Thread(target=self._read_loop, daemon=True)
        self.thread.start()
        self.session = None

    def _read_loop(self):
        buffer = b""
        while True:
            try:
                chunk = self.reader.read(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cond:
                    self.responses["closed"] = True
                    self.cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                try:
                    message = json.loads(raw.decode("utf-8"))
                except ValueError:
                    continue
                if "id" in message:
                    with self.cond:
                        self.responses[message["id"]] = message
                        self.cond.notify_all()
                else:
                    self._on_event(message)

    def _on_event(self, message):
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("text", "")
            exc = details.get("exception", {})
            self.exceptions.append("%s %s (line %s)" % (text, exc.get("description", ""), details.get("lineNumber")))
        elif method == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append("console.%s: %s" % (params.get("type"), args))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append("log %s/%s: %s %s" % (entry.get("source"), entry.get("level"), entry.get("text"), entry.get("url", "")))
        if self.verbose and method in ("Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded"):
            print("browser-test: [page] %s" % (self.console[-1] if self.console and method != "Runtime.exceptionThrown" else self.exceptions[-1]), file=sys.stderr)

    def send(self, method, params=None, session=True, timeout=30):
        with self.cond:
            self.next_id += 1
            ident = self.next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        try:
            self.writer.write(json.dumps(message).encode("utf-8") + b"\0")
        except OSError as e:
            raise StepFailed("the browser went away (%s)" % e)
        deadline = time.time() + timeout
        with self.cond:
            while ident not in self.responses:
                if self.responses.get("closed"):
                    raise StepFailed("the browser closed the DevTools pipe during %s" % method)
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise StepFailed("no answer from the browser to %s within %ss" % (method, timeout))
                self.cond.wait(remaining)
            response = self.responses.pop(ident)
        if "error" in response:
            raise StepFailed("%s failed: %s" % (method, response["error"]))
        return response.get("result", {})

    def attach(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            target_id = pages[0]["targetId"]
        else:
            target_id = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True}, session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")

    def evaluate(self, expression, timeout=30):
        result = self.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True,
        }, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise StepFailed("script error: %s %s" % (details.get("text"), details.get("exception", {}).get("description", "")))
        return result.get("result", {}).get("value")

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def stderr_tail(self, n=2000):
        try:
            self.stderr_file.seek(0)
            return self.stderr_file.read().decode("utf-8", "replace")[-n:]
        except Exception:
            return ""


def dup_high(fd):
    """A close-on-exec copy of fd numbered 10 or more."""
    import fcntl
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.set_inheritable(copy, False)
    return copy


def js(value):
    """A Python value as a JavaScript literal."""
    return json.dumps(value)


class Dashboard:
    def __init__(self, browser, step_timeout):
        self.b = browser
        self.step_timeout = step_timeout

    def wait_for(self, description, expression, timeout=None, interval=0.1):
        """Polls a JavaScript expression until it is truthy; returns its value."""
        deadline = time.time() + (timeout or self.step_timeout)
        last_error = None
        while time.time() < deadline:
            try:
                value = self.b.evaluate(expression)
                if value:
                    return value
            except StepFailed as e:
                last_error = e
            time.sleep(interval)
        notice = ""
        try:
            notice = self.b.evaluate("(function(){var n=document.getElementById('notice');return n&&!n.hidden?n.textContent:''})()") or ""
        except StepFailed:
            pass
        raise StepFailed("timed out after %ss waiting for %s%s%s" % (
            timeout or self.step_timeout, description,
            "; page notice: " + notice if notice else "",
            "; last script error: %s" % last_error if last_error else ""))

    def click(self, selector, description=None):
        """Clicks an element with real mouse events at its centre (falls back to element.click()
        when something else would receive the click), after checking it is visible and enabled."""
        description = description or selector
        info = self.wait_for("%s to be visible and enabled" % description, """(function(){
            var e = document.querySelector(%s);
            if (!e || e.disabled || e.closest('[hidden]')) return null;
            e.scrollIntoView({block: 'center', inline: 'nearest'});
            var r = e.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) return null;
            var x = r.left + r.width / 2, y = r.top + r.height / 2;
            var hit = document.elementFromPoint(x, y);
            return {x: x, y: y, direct: !!hit && (hit === e || e.contains(hit))};
        })()""" % js(selector))
        if info["direct"]:
            for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                params = {"type": kind, "x": info["x"], "y": info["y"]}
                if kind != "mouseMoved":
                    params.update({"button": "left", "clickCount": 1})
                self.b.send("Input.dispatchMouseEvent", params)
        else:
            self.b.evaluate("document.querySelector(%s).click()" % js(selector))

    def type_into(self, selector, text):
        self.wait_for("%s to be enabled" % selector,
                      "(function(){var e=document.querySelector(%s);return !!e && !e.disabled && !e.closest('[hidden]')})()" % js(selector))
        self.b.evaluate("(function(){var e=document.querySelector(%s);e.focus();e.value='';})()" % js(selector))
        self.b.send("Input.insertText", {"text": text})
        value = self.b.evaluate("document.querySelector(%s).value" % js(selector))
        if value != text:
            raise StepFailed("typing into %s gave %r" % (selector, value))

    def screenshot(self, path):
        data = self.b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def find_chromium(explicit):
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def log(message):
    print("browser-test: " + message, file=sys.stderr, flush=True)


def run(args, browser):
    d = Dashboard(browser, args.step_timeout)
    base = args.base_url.rstrip("/")

    log("loading %s/" % base)
    navigation = browser.send("Page.navigate", {"url": base + "/"})
    if navigation.get("errorText"):
        raise StepFailed("could not load %s/: %s" % (base, navigation["errorText"]))
    d.wait_for("the sign-in form", "document.readyState === 'complete' && !!document.getElementById('token-input') && !document.getElementById('token-input').closest('[hidden]')")
    has_viewport = browser.evaluate("!!document.querySelector('meta[name=viewport]')")
    if not has_viewport:
        raise StepFailed("the page has no viewport meta tag")

    log("signing in")
    d.type_into("#token-input", args.token)
    d.click("#sign-in")
    org = d.wait_for("the dashboard to open after sign-in", """(function(){
        var err = document.getElementById('signin-error');
        if (err && !err.hidden && err.textContent) return {error: err.textContent};
        var app = document.getElementById('app-view');
        return app && !app.hidden ? {org: document.getElementById('org-name').textContent} : null;
    })()""")
    if "error" in org:
        raise StepFailed("sign-in refused: %s" % org["error"])
    if args.org and not org["org"].startswith(args.org):
        raise StepFailed("signed in to org %r, expected %r" % (org["org"], args.org))
    stored = browser.evaluate("sessionStorage.getItem('purser.token') === %s" % js(args.token))
    if not stored:
        raise StepFailed("the token was not kept in sessionStorage")

    log("waiting for the live stream")
    d.wait_for("#live-status to say 'live'", "(document.getElementById('live-status').textContent || '').trim() === 'live'")
    d.click("#tab-approvals")
    d.wait_for("the approvals panel", "!document.getElementById('panel-approvals').hidden")
    time.sleep(0.5)  # let the first GET /approvals land
    initial = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('.approval'), function(e){return e.dataset.approvalId})") or []
    marker = "m%d" % int(time.time() * 1000)
    browser.evaluate("window.__browserTestMarker = %s" % js(marker))

    # Readiness: the harness now creates the approval.
    print("READY", flush=True)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    on_ready = None
    if args.on_ready:
        env = dict(os.environ, PURSER_BASE_URL=base, PURSER_TOKEN=args.token, PURSER_ORG=args.org or org["org"])
        log("running --on-ready command")
        on_ready = subprocess.Popen(args.on_ready, shell=True, env=env)

    log("waiting up to %ss for a new pending approval to arrive live" % args.timeout)
    approval = d.wait_for("a new pending approval (it must arrive over SSE, without a reload)", """(function(){
        var known = %s;
        var items = document.querySelectorAll('.approval[data-state="pending"]');
        for (var i = 0; i < items.length; i++) {
            var id = items[i].dataset.approvalId;
            if (known.indexOf(id) >= 0) continue;
            var s = items[i].querySelector('.open-session');
            var what = items[i].querySelector('pre.arguments, blockquote.reply-text');
            return {id: id, sessionId: s ? s.dataset.sessionId : null, what: what ? what.textContent : '',
                    title: (items[i].querySelector('h3') || {}).textContent || ''};
        }
        return null;
    })()""" % js(initial), timeout=args.timeout)
    if browser.evaluate("window.__browserTestMarker") != marker:
        raise StepFailed("the page reloaded while waiting for the approval; it must arrive live")
    log("approval %s arrived: %s" % (approval["id"], approval["title"]))
    if not approval["what"].strip():
        raise StepFailed("approval %s does not show what the agent wants to do (no arguments or reply text)" % approval["id"])
    if on_ready is not None:
        code = on_ready.wait(timeout=60)
        if code != 0:
            raise StepFailed("--on-ready command exited %d" % code)

    selector = '.approval[data-approval-id=%s]' % js(approval["id"])
    log("approving")
    d.click(selector + " .approve", "the approve button")
    result = d.wait_for("the approval to be decided", """(function(){
        var item = document.querySelector(%s);
        if (!item) return {done: true};
        var status = (item.querySelector('.decision-status') || {}).textContent || '';
        if (item.dataset.state !== 'pending') return {done: true, status: status};
        if (status && status !== 'Working…') return {error: status};
        return null;
    })()""" % js(selector))
    if "error" in result:
        raise StepFailed("approving failed: %s" % result["error"])

    log("opening the session")
    d.click("#tab-sessions")
    session_id = approval["sessionId"]
    if session_id:
        row = '.session-row[data-session-id=%s]' % js(session_id)
    else:
        row = ".session-row"
        session_id = d.wait_for("a session row", "(document.querySelector('.session-row') || {dataset:{}}).dataset.sessionId")
        row = '.session-row[data-session-id=%s]' % js(session_id)
    d.wait_for("session %s in the sessions list" % session_id, "!!document.querySelector(%s)" % js(row))
    d.click(row, "the session row")
    d.wait_for("the transcript to show messages", "document.querySelectorAll('#transcript .message').length > 0")

    log("taking over")
    d.click("#takeover")
    d.wait_for("the reply box to be enabled after takeover", "!document.getElementById('reply-text').disabled && document.getElementById('session-detail').dataset.status === 'handed_off'")

    log("replying")
    d.type_into("#reply-text", REPLY_TEXT)
    d.click("#reply-send")
    d.wait_for("the reply to appear in the transcript", """Array.prototype.some.call(document.querySelectorAll('#transcript .message'),
        function(m){ return m.textContent.indexOf(%s) >= 0; })""" % js(REPLY_TEXT))

    log("releasing")
    d.click("#release")
    d.wait_for("the session to be back with the agent", "document.getElementById('session-detail').dataset.status !== 'handed_off' && !document.getElementById('takeover').disabled")

    log("checking phone width")
    browser.send("Emulation.setDeviceMetricsOverride", {"width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    for tab in ("sessions", "approvals", "activity", "settings", "chat"):
        d.click("#tab-" + tab)
        time.sleep(0.3)
        overflow = browser.evaluate("""(function(){
            var w = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= w + 1) return null;
            var wide = [];
            document.querySelectorAll('body *').forEach(function(e){
                var r = e.getBoundingClientRect();
                if (r.right > w + 1 && wide.length < 5 && !e.closest('[hidden]')) wide.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''));
            });
            return {scrollWidth: document.documentElement.scrollWidth, width: w, elements: wide};
        })()""")
        if overflow:
            raise StepFailed("horizontal scrolling at 375px on the %s tab: %s" % (tab, json.dumps(overflow)))
    browser.send("Emulation.clearDeviceMetricsOverride")

    if browser.exceptions:
        raise StepFailed("JavaScript errors on the page: %s" % "; ".join(browser.exceptions))
    return {"ok": True, "approvalId": approval["id"], "sessionId": session_id}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="an operator (or admin) token of the org")
    parser.add_argument("--org", help="the org the token belongs to (checked against the page)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the approval to arrive (default 60)")
    parser.add_argument("--step-timeout", type=float, default=20, help="seconds for every other step (default 20)")
    parser.add_argument("--ready-file", help="written once the page is signed in and live")
    parser.add_argument("--on-ready", help="shell command run once the page is live (gets PURSER_BASE_URL, PURSER_TOKEN, PURSER_ORG)")
    parser.add_argument("--chromium", help="the browser executable (default: chromium on PATH)")
    parser.add_argument("--screenshot-on-failure", help="PNG written when a step fails")
    parser.add_argument("--verbose", action="store_true", help="echo the page's console to stderr")
    args = parser.parse_args()

    executable = find_chromium(args.chromium)
    if not executable:
        log("FAIL: chromium not found (Debian package `chromium`; scripts/setup.sh installs it)")
        return 2
    try:
        browser = Browser(executable, verbose=args.verbose)
        browser.attach()
    except Exception as e:  # noqa: BLE001 - any start-up failure is reported the same way
        log("FAIL: could not start %s: %s" % (executable, e))
        try:
            log(browser.stderr_tail())  # type: ignore[name-defined]
        except Exception:
            pass
        return 2
    try:
        summary = run(args, browser)
        print(json.dumps(summary), flush=True)
        log("OK")
        return 0
    except StepFailed as e:
        log("FAIL: %s" % e)
        if browser.exceptions:
            log("page errors: %s" % "; ".join(browser.exceptions))
        if browser.console:
            log("page console (last 15):\n  " + "\n  ".join(browser.console[-15:]))
        if args.screenshot_on_failure:
            try:
                Dashboard(browser, 5).screenshot(args.screenshot_on_failure)
                log("screenshot: %s" % args.screenshot_on_failure)
            except Exception as shot_error:  # noqa: BLE001
                log("no screenshot: %s" % shot_error)
        return 1
    finally:
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
