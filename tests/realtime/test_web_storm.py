"""A storm of web requests costs the audio no xrun: 200 requests a second for 10 s (state reads, knob
moves, preset switches, a live stream with the tuner on) against an engine playing at 64 frames on a
private dummy JACK server.

The xruns of a dummy jackd on a small shared machine follow the machine's load, and serving 200
requests a second is load wherever it runs. So the same storm also goes to a decoy: the same kind of
server (aiohttp, same routes, trivial answers) in a process of its own. Whatever the engine shows
beyond the decoy is what serving from inside the engine costs the audio; the quiet windows are the
floor. Windows alternate (quiet, decoy, engine, twice) so drifting background load hits all three."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
import urllib3

from support.jack import serve
from support.web import TOKEN, EngineWithWeb, bank_folder

SECONDS = 10.0
RATE_PER_S = 200
THREADS = 4
DECOY = textwrap.dedent("""
    import asyncio, sys
    from aiohttp import web
    async def state(request):
        return web.json_response({"current": 0, "params": {}, "presets": []})
    async def live(request):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        while True:
            await response.write(b'data: {"in": {}}\\n\\n')
            await asyncio.sleep(0.1)
    app = web.Application()
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/live", live)
    app.router.add_post("/api/params", state)
    app.router.add_post("/api/preset", state)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *a: print("ready", flush=True))
""")


@pytest.fixture(scope="module")
def server():
    yield from serve(44100, period=64)


def storm(base: str, seconds: float) -> int:
    """THREADS clients on a fixed schedule, RATE_PER_S requests a second in all, plus a live stream."""
    http = urllib3.PoolManager(maxsize=THREADS + 1, retries=False, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Origin": base}
    counts, failures, stop = [0] * THREADS, [], threading.Event()
    live = http.request("GET", base + "/api/live?tuner=1", preload_content=False, headers=headers)

    def drain():
        for _ in live.stream(4096):
            if stop.is_set():
                break

    def client(k: int):
        interval, start, n = THREADS / RATE_PER_S, time.monotonic(), 0
        while time.monotonic() - start < seconds:
            kind = (n * THREADS + k) % 20
            if kind == 0:
                response = http.request("POST", base + "/api/preset", json={"index": (n // 5) % 2}, headers=headers)
            elif kind % 2:
                response = http.request("GET", base + "/api/state", headers=headers)
            else:
                response = http.request("POST", base + "/api/params", json={"output_gain_db": -(n % 7) * 0.5},
                                        headers=headers)
            if response.status != 200:
                failures.append(response.status)
            n += 1
            time.sleep(max(0.0, start + n * interval - time.monotonic()))
        counts[k] = n

    threads = [threading.Thread(target=client, args=(k,)) for k in range(THREADS)]
    threading.Thread(target=drain, daemon=True).start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    live.release_conn()
    assert not failures, failures[:5]
    return sum(counts)


@pytest.mark.slow
def test_a_storm_of_requests_adds_no_xruns(server, tmp_path):
    decoy_port = 18000 + (hash(str(tmp_path)) % 1000)
    decoy = subprocess.Popen([sys.executable, "-c", DECOY, str(decoy_port)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    totals = {name: {"xruns": 0, "blocks": 0, "expected": 0.0, "requests": 0} for name in ("quiet", "decoy", "engine")}
    try:
        assert decoy.stdout.readline().strip() == "ready"
        # no feeder: its Python callback would share this process's GIL with the storm's threads
        with EngineWithWeb(server, bank_folder(tmp_path), tmp_path, tone_hz=None) as engine:
            time.sleep(1.0)
            targets = {"quiet": None, "decoy": f"http://127.0.0.1:{decoy_port}", "engine": engine.client.base}
            for _ in range(2):
                for name, base in targets.items():
                    before, started = engine.state(), time.monotonic()
                    done = storm(base, SECONDS) if base else time.sleep(SECONDS) or 0
                    after, elapsed = engine.state(), time.monotonic() - started
                    total = totals[name]
                    total["xruns"] += after["xruns"] - before["xruns"]
                    total["blocks"] += after["blocks"] - before["blocks"]
                    total["expected"] += elapsed * 44100 / 64
                    total["requests"] += done
    finally:
        decoy.kill()
        decoy.wait()
    for name, total in totals.items():
        print(f"\n{name}: {total['requests']} requests, {total['xruns']} xruns, "
              f"{total['blocks']} of {total['expected']:.0f} blocks in {2 * SECONDS:.0f} s")
    quiet, decoy_run, stormy = totals["quiet"], totals["decoy"], totals["engine"]
    assert stormy["requests"] >= 0.95 * 2 * RATE_PER_S * SECONDS
    assert stormy["blocks"] >= 0.9 * stormy["expected"]
    if server.realtime_granted:  # slack for the shared machine's noise between windows, not for the engine
        assert stormy["xruns"] <= max(decoy_run["xruns"], quiet["xruns"]) * 1.5 + 5, totals
