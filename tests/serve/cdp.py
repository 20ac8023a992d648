#!/usr/bin/python3
"""Drives a real headless Chromium over the DevTools protocol (on a pipe:
fds 3 and 4, NUL-delimited JSON; nothing to install) through the
dashboard's pages, and checks each:

  - it answers 200 and loads;
  - no console error, no uncaught exception, no Content-Security-Policy
    violation (console messages and the Audits issues);
  - the hostile payloads never ran (window.__pwned unset) and left no
    element behind (no script, iframe, img, style element, no on*
    attribute), while the markers expected on the page are there as text;
  - a screenshot of the whole page, OUTDIR/NAME.png.

    cdp.py BASE_URL OUTDIR PAGES_JSON
PAGES_JSON: [{"name": ..., "path": ..., "text": [strings the page shows]}]
Exit status 0 when every page passed, 1 otherwise."""
import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 60  # seconds for one step; the machine may be loaded


class Browser:
    def __init__(self, profile):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            raise SystemExit(77)
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Out of the way first: the pipe's own fds may be 3 or 4.
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(profile, "chromium.log"), "w"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.messages = queue.Queue()
        self.events = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                self.messages.put(None)
                return
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                self.messages.put(json.loads(msg))

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + TIMEOUT
        while True:
            m = self.messages.get(timeout=max(deadline - time.time(), 0.1))
            if m is None:
                raise RuntimeError("chromium exited")
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def wait_event(self, method, session):
        deadline = time.time() + TIMEOUT
        for i, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            m = self.messages.get(timeout=max(deadline - time.time(), 0.1))
            if m is None:
                raise RuntimeError("chromium exited")
            self.events.append(m)
            if m.get("method") == method and m.get("sessionId") == session:
                return self.events.pop()

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# What the page must not hold, and what it must: evaluated in the page.
DOM_CHECK = """(() => {
  const bad = [];
  if (window.__pwned !== undefined) bad.push('a payload ran: window.__pwned=' + window.__pwned);
  for (const tag of ['script', 'iframe', 'img', 'style', 'object', 'embed', 'foreignObject'])
    if (document.getElementsByTagName(tag).length) bad.push('a <' + tag + '> element exists');
  for (const el of document.querySelectorAll('*'))
    for (const a of el.attributes)
      if (/^on/i.test(a.name)) bad.push('an ' + a.name + ' attribute on <' + el.localName + '>');
  for (const el of document.querySelectorAll('[href]'))
    if (/^\\s*javascript:/i.test(el.getAttribute('href'))) bad.push('a javascript: link');
  const sheets = [...document.styleSheets].map(s => s.href);
  if (sheets.length !== 1 || !/\\/static\\/style\\.css$/.test(sheets[0])) bad.push('style sheets: ' + sheets);
  if (getComputedStyle(document.body).display === 'none') bad.push('the body is hidden');
  // Every chart reads on its own: a title, a legend, a unit, dates, figures.
  for (const svg of document.querySelectorAll('svg.chart')) {
    const texts = cls => [...svg.querySelectorAll('text.' + cls)].map(t => t.textContent);
    if (svg.querySelector('text.empty')) continue;
    if (!texts('chart-title').length || !texts('legend').length || !texts('unit').length)
      bad.push('a chart without its title, legend or unit');
    if (!texts('tick').some(t => /^\d{4}-\d{2}-\d{2}$/.test(t)) || !texts('tick').includes('UTC'))
      bad.push('a chart without dates');
    if (!svg.querySelector('rect title, circle title')) bad.push('a chart without data points');
  }
  const nav = performance.getEntriesByType('navigation')[0];
  return {bad, status: nav ? nav.responseStatus : 0, text: document.body.innerText,
          charts: document.querySelectorAll('svg.chart').length,
          height: Math.ceil(document.documentElement.scrollHeight)};
})()"""


def problems_in(events, session, status):
    """status: the page's expected HTTP status; an error page's own status
    is reported on the console as a failed load, and is not a problem."""
    found = []
    expected = f"the server responded with a status of {status} " if status != 200 else None
    for e in events:
        if e.get("sessionId") != session:
            continue
        m, p = e.get("method"), e.get("params", {})
        if m == "Log.entryAdded" and expected and p["entry"].get("source") == "network" \
                and expected in p["entry"]["text"]:
            continue
        if m == "Log.entryAdded" and p["entry"]["level"] == "error":
            found.append(f"console error ({p['entry'].get('source')}): {p['entry']['text']}")
        elif m == "Runtime.exceptionThrown":
            found.append("exception: " + json.dumps(p["exceptionDetails"])[:300])
        elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            found.append("console." + p["type"])
        elif m == "Audits.issueAdded" and "ContentSecurityPolicy" in p["issue"]["code"]:
            found.append("CSP violation: " + json.dumps(p["issue"]["details"])[:300])
    return found


def check_page(b, session, base, outdir, page):
    b.events.clear()
    b.call("Page.navigate", session, url=base + page["path"])
    b.wait_event("Page.loadEventFired", session)
    time.sleep(0.3)  # late console messages
    b.call("Runtime.evaluate", session, expression="1")  # flush pending events into b.events
    result = b.call("Runtime.evaluate", session, expression=DOM_CHECK, returnByValue=True)
    dom = result["result"]["value"]
    problems = problems_in(b.events, session, page.get("status", 200)) + dom["bad"]
    if dom["status"] != page.get("status", 200):
        problems.append(f"HTTP status {dom['status']}")
    for text in page.get("text", []):
        if text not in dom["text"]:
            problems.append(f"text not shown: {text!r}")
    if dom["charts"] < page.get("charts", 0):
        problems.append(f"{dom['charts']} charts, expected {page['charts']}")
    height = min(max(dom["height"], 600), 8000)
    b.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=height, deviceScaleFactor=1,
           mobile=False)
    shot = b.call("Page.captureScreenshot", session, format="png")
    with open(os.path.join(outdir, page["name"] + ".png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    b.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=900, deviceScaleFactor=1,
           mobile=False)
    return problems


def main():
    base, outdir, pages_file = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)
    with open(pages_file) as f:
        pages = json.load(f)
    profile = tempfile.mkdtemp(prefix="serve-chromium-")
    b = Browser(profile)
    failed = 0
    try:
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        session = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Audits"):
            b.call(domain + ".enable", session)
        b.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=900, deviceScaleFactor=1,
               mobile=False)
        for page in pages:
            problems = check_page(b, session, base, outdir, page)
            print(("FAIL" if problems else "ok  ") + " - " + page["name"] + " " + page["path"])
            for p in problems:
                print("       " + p)
            failed += bool(problems)
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"pages: {len(pages) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
