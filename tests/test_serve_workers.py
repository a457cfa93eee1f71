"""`casework serve` uses every core: several waitress processes on one socket, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(child) for child in text}
    return found


def test_serve_runs_the_workers_it_is_told_to_and_stops_them_all(settings, database):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env |= {"CASEWORK_MODE": settings.mode, "CASEWORK_INSTANCE_PATH": str(settings.instance_path),
            "CASEWORK_KEYS_DIR": str(settings.keys_dir), "CASEWORK_DATABASE_URL": settings.database_url,
            "CASEWORK_WORKERS": "2", "CASEWORK_THREADS": "2"}
    server = subprocess.Popen([sys.executable, "-m", "casework.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        answers = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(answers) < 10:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    answers.append(response.status)
            except OSError:
                time.sleep(0.2)
        # Then it answers, from two worker processes under one parent
        assert answers == [200] * 10
        workers = _children(server.pid)
        assert len(workers) == 2
        # And a stop (SIGTERM, as systemd sends) ends the parent and every worker
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        time.sleep(0.5)
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
