"""HTTP benchmark: casework as its users meet it, served by `casework serve`, under concurrent users.

(Not named http.py: that would hide the standard library's http package.)

    .venv/bin/python bench/web.py --instance /tmp/bench-http          # SQLite, builds the data once
    .venv/bin/python bench/web.py --instance /tmp/bench-http --postgres postgresql://postgres@127.0.0.1:5432/postgres

It builds (once, kept in --instance) a database with `casework demo-data --clients N` (20,000 by
default, 40 collaborators: demo.ctv001 carries about four times the usual caseload), starts the
production server (`casework serve`, development mode only so that the demo accounts need no second
factor), signs in one session per simulated user, and has --users threads (20) load, with no think
time, for --seconds each: the trivial page (GET /login), the caseload, a client page, the sent list
(collaborators) and the inbox (the health station's provider). It prints p50/p95/p99 per page, the
errors, and each p50 divided by the trivial page's p50. Figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CLIENT_LINK = re.compile(r'href="(/clients/[0-9a-f-]{36})"')
DEMO_PASSWORD = re.compile(r"the same password for each: ([A-Za-z0-9-]+)")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None


class Session:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())
        self.token = ""

    def call(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, float]:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=120) as response:  # noqa: S310
                status, html = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, html = error.code, error.read().decode("utf-8", "replace")
        took = time.perf_counter() - started
        found = CSRF.search(html)
        if found:
            self.token = found.group(1)
        return status, html, took

    def sign_in(self, username: str, password: str) -> None:
        self.call("/login")
        status, _html, _t = self.call("/login", {"username": username, "password": password})
        if status != 302:
            raise SystemExit(f"could not sign in as {username} (HTTP {status})")


def _env(instance: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env |= {"CASEWORK_MODE": "development", "CASEWORK_INSTANCE_PATH": str(instance), "CASEWORK_REQUIRE_2FA": "false",
            "CASEWORK_LOGIN_RATE_LIMIT": "100000 per minute", "CASEWORK_RATELIMIT_STORAGE_URI": "memory://"}
    if url:
        env["CASEWORK_DATABASE_URL"] = url
    return env


def _casework(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "casework.cli", *args], env=env, capture_output=True, text=True,  # noqa: S603
                          check=False, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"casework {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build(env: dict[str, str], instance: Path, clients: int) -> str:
    marker = instance / f"bench-http-{clients}.password"
    if marker.exists():
        _casework(env, "db", "upgrade")  # data kept from an earlier version of casework
        return marker.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    _casework(env, "quickstart", "--no-serve")
    out = _casework(env, "demo-data", "--clients", str(clients), "--collaborators", "40")
    password = DEMO_PASSWORD.search(out)
    if not password:
        raise SystemExit("demo-data printed no password")
    marker.write_text(password.group(1))
    return password.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(args: argparse.Namespace, url: str | None, label: str) -> None:
    instance = Path(args.instance) / label
    env = _env(instance, url)
    password = build(env, instance, args.clients)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "casework.cli", "serve", "--port", str(port)],  # noqa: S603
                              env=env | {"CASEWORK_WORKERS": str(args.workers), "CASEWORK_THREADS": str(args.threads)},
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.5)
        users = []
        for n in range(args.users):
            name = f"demo.ctv{n + 1:03d}" if n < args.users - 4 else "demo.tramyte"
            session = Session(base)
            session.sign_in(name, password)
            users.append((name, session))
        pages: dict[str, list[float]] = {}
        errors: dict[str, int] = {}
        lock = threading.Lock()

        def load(name: str, session: Session) -> None:
            provider = not name.startswith("demo.ctv")
            _s, caseload, _t = (0, "", 0.0) if provider else session.call("/clients/")
            links = CLIENT_LINK.findall(caseload)
            plan = ([("trivial", "/login"), ("inbox", "/inbox")] if provider else
                    [("trivial", "/login"), ("caseload", "/clients/"), ("sent", "/referrals/sent")]
                    + ([("client", links[0])] if links else []))
            end = time.monotonic() + args.seconds
            n = 0
            while time.monotonic() < end:
                page, path = plan[n % len(plan)]
                n += 1
                status, _html, took = session.call(path)
                with lock:
                    pages.setdefault(page, []).append(took)
                    if status >= 500:
                        errors[page] = errors.get(page, 0) + 1

        threads = [threading.Thread(target=load, args=user) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    trivial = statistics.median(pages.get("trivial", [1.0]))
    print(f"\n{label}: {args.clients:,} clients, {args.users} users, {args.workers} workers x {args.threads} threads, "
          f"{args.seconds} s")
    print(f"{'page':<10}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'p50/trivial':>13}")
    for page in ("trivial", "caseload", "client", "sent", "inbox"):
        times = sorted(pages.get(page, []))
        if not times:
            continue
        q = statistics.quantiles(times, n=100) if len(times) >= 2 else [times[0]] * 99
        print(f"{page:<10}{len(times):>9}{statistics.median(times) * 1000:>9.1f}{q[94] * 1000:>9.1f}"
              f"{q[98] * 1000:>9.1f}{errors.get(page, 0):>8}{statistics.median(times) / trivial:>12.1f}x")
    print("targets: p95 <= 150 ms, p50 <= 3x trivial, 0 errors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", required=True, help="folder for the benchmark's instances (kept, reused)")
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a database casework_bench_http is made there")
    args = parser.parse_args()
    if args.postgres:
        from sqlalchemy import create_engine, text

        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'casework_bench_http'")).first():
                conn.execute(text("CREATE DATABASE casework_bench_http"))
        url = args.postgres.rsplit("/", 1)[0] + "/casework_bench_http"
        run(args, url, "postgresql")
    else:
        run(args, None, "sqlite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
