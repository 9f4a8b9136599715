"""Load benchmark of `mnist-edge serve` against the old standard-library example, loopback only.

    python benchmarks/serve_load.py [--duration 30] [--clients 1,16,64,256] [--workers 2]
                                    [--images png28,jpg480] [--serve-option=--max-concurrent=16 ...]
                                    [--out benchmarks/serve_load.json]

Starts both servers on free loopback ports (`python -m mnist_edge serve --workers W` and
`examples/http_service.py`), then drives each with `wrk` (Debian: apt-get install wrk) and the Lua
script benchmarks/wrk/post_body.lua: POST /predict of one 28 px PNG (an MNIST test digit) and of
one 480 px photo-like JPEG, at each number of concurrent clients for --duration seconds. Reports
requests/s, p50/p99 latency, answers by status, wrk's socket errors (connect, read, write,
timeout), the servers' memory (resident now and peak, summed over the server's processes, from
/proc), and after each step whether 20 requests in a row then all succeed (recovery). The load
average is printed: the machine is shared, so compare the two servers within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnist_edge.photo_like import photo_of_digit

LUA = ROOT / "benchmarks" / "wrk" / "post_body.lua"
DIGIT = ROOT / "examples" / "digits" / "mnist_test_00000_label_7.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_bodies(folder: Path) -> dict[str, Path]:
    png = folder / "digit28.png"
    shutil.copyfile(DIGIT, png)
    jpg = folder / "photo480.jpg"
    digit = np.asarray(Image.open(DIGIT).convert("L"))
    photo_of_digit(digit, size=480, offset=(40, -30)).save(jpg, quality=90)
    return {"png28": png, "jpg480": jpg}


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode} before it answered {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    sys.exit(f"server did not answer {url} within {timeout:.0f} s")


def tree(pid: int) -> list[int]:
    """pid and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_mb(pid: int) -> dict[str, float]:
    """Resident and peak resident memory (VmRSS, VmHWM) summed over the process tree, in MB."""
    total = {"rss_mb": 0.0, "peak_mb": 0.0}
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total["rss_mb"] += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    total["peak_mb"] += int(line.split()[1]) / 1024
        except OSError:
            continue
    return {k: round(v, 1) for k, v in total.items()}


def recovered(url: str, body: bytes, n: int = 20) -> int:
    """How many of n sequential requests succeed right after a load step."""
    ok = 0
    for _ in range(n):
        request = urllib.request.Request(url, body, {"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                ok += r.status == 200
        except (urllib.error.URLError, OSError):
            pass
    return ok


def run_wrk(url: str, body: Path, clients: int, duration: int) -> dict:
    env = dict(os.environ, WRK_BODY=str(body), WRK_TYPE="application/octet-stream")
    command = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{duration}s", "--timeout", "2s", "-s", str(LUA), url]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        sys.exit(f"wrk gave no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    raw = json.loads(line[len("WRK_JSON ") :])
    seconds = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    return {
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "ok_per_s": round(statuses.get(200, 0) / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "statuses": statuses,
        "socket_errors": {k: raw["errors"][k] for k in ("connect", "read", "write", "timeout")},
    }


def start_servers(workers: int, options: list[str]) -> dict[str, tuple[subprocess.Popen, str, str]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": ROOT}
    new_port, old_port = free_port(), free_port()
    new = subprocess.Popen(
        [sys.executable, "-m", "mnist_edge", "serve", "--port", str(new_port), "--workers", str(workers), *options],
        **quiet,
    )
    old = subprocess.Popen([sys.executable, "examples/http_service.py", "--port", str(old_port)], **quiet)
    servers = {
        " ".join(["mnist-edge serve --workers", str(workers), *options]): (
            new,
            f"http://127.0.0.1:{new_port}",
            "/healthz",
        ),
        "examples/http_service.py": (old, f"http://127.0.0.1:{old_port}", "/health"),
    }
    for process, base, health in servers.values():
        wait_ready(base + health, process)
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per step")
    parser.add_argument("--clients", default="1,16,64,256", help="concurrent clients, comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of mnist-edge serve")
    parser.add_argument("--images", default="png28,jpg480", help="pictures to send, comma-separated: png28, jpg480")
    parser.add_argument("--serve-option", action="append", default=[], help="an option for mnist-edge serve (repeat)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "serve_load.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    levels = [int(c) for c in args.clients.split(",")]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = {k: v for k, v in make_bodies(Path(tmp)).items() if k in args.images.split(",")}
        servers = start_servers(args.workers, args.serve_option)
        try:
            for image, path in bodies.items():
                for clients in levels:
                    for name, (process, base, _) in servers.items():  # interleaved: same load on both
                        result = run_wrk(base + "/predict", path, clients, args.duration)
                        result.update(memory_mb(process.pid))
                        result["recovered_of_20"] = recovered(base + "/predict", path.read_bytes())
                        rows.append({"server": name, "image": image, "clients": clients, **result})
                        print(_row(rows[-1]), flush=True)
        finally:
            for process, _, _ in servers.values():
                process.terminate()
            for process, _, _ in servers.values():
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
    report = {
        "command": " ".join(["python", "benchmarks/serve_load.py", *sys.argv[1:]]),
        "duration_s": args.duration,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rows": rows,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"load average before {report['load_average_before']}, after {report['load_average_after']}")
    print(f"wrote {args.out}")


def _row(r: dict) -> str:
    errors = sum(r["socket_errors"].values())
    statuses = " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items()))
    return (
        f"{r['server'][:30]:<30} {r['image']:<7} c={r['clients']:<4} {r['requests_per_s']:>8.0f} req/s "
        f"p50 {r['p50_ms']:>8.2f} ms p99 {r['p99_ms']:>8.2f} ms  [{statuses}] socket errors {errors} "
        f"{r['socket_errors']}  rss {r['rss_mb']} MB peak {r['peak_mb']} MB  recovered {r['recovered_of_20']}/20"
    )


if __name__ == "__main__":
    main()
