"""The phone page's capture (POST/GET /api/capture) on a private dummy jackd with the simulated rig of
tests/support/capture_rig.py: a take through a delayed nonlinearity lands in a new folder under the
bank's, sample-aligned, with the engine muted while the rig hears the signal and unmuted after; a
second start meanwhile gets 409; an uncalibrated rig gets one line and the engine its sound back.

The engine is a real Channel served by the web server in this process (no audio host: the mute is
the control word its callback reads)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from engine.cli import main
from engine.models import load_model
from engine.presets.bank import load_bank
from engine.realtime.channel import Channel
from engine.realtime.memory import memory_use
from engine.web.pedal import Pedal
from engine.web.server import WebServer
from support.capture_rig import RATE, Rig, device, esr, freewheeling_recorder, serve, user_config
from support.web import TOKEN, Client, bank_folder

DELAY = 37  # the rig's own latency, frames
SECONDS = 3


@pytest.fixture(scope="module")
def jack_server():
    yield from serve()


@pytest.fixture
def page(jack_server, tmp_path, monkeypatch):
    user_config(tmp_path, monkeypatch)
    bank_path = bank_folder(tmp_path)
    bank = load_bank(bank_path)
    pedal = Pedal(Channel([load_model(p.model) for p in bank.presets]), [p.name for p in bank.presets], RATE)
    server = WebServer(pedal, TOKEN, "127.0.0.1", 0, restart=lambda: None,
                       capture_root=bank_path.parent / "captures").start()
    page = type("Page", (), {})()
    page.pedal, page.captures, page.client = pedal, bank_path.parent / "captures", Client(server.port)
    yield page
    server.close()


def finished(client: Client, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = json.loads(client.get("/api/capture").data)
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError("the capture did not finish in time")


def test_the_page_captures_through_the_rig_with_the_engine_muted(page, capsys):
    locked_before = memory_use().locked_mb
    with Rig(DELAY), freewheeling_recorder():
        main(["capture", "--calibrate", "--send", "rig:in", "--return", "rig:out"])
    assert "round trip rig:in -> rig:out" in capsys.readouterr().out
    assert json.loads(page.client.get("/api/state").data)["can_capture"] is True

    muted_while_heard = []  # the engine's mute in each cycle the rig's input carried the signal

    def heard(frames):
        if rig.inport.get_array().any():
            muted_while_heard.append(page.pedal.muted)
    rig = Rig(DELAY, shape=device, on_heard=heard)
    gate = threading.Event()  # holds the job before its take, so the second start surely finds it running
    from engine.capture import recorder

    with rig, freewheeling_recorder(), pytest.MonkeyPatch.context() as patch:
        opened = recorder.DuplexRecorder
        patch.setattr(recorder, "DuplexRecorder", lambda: (gate.wait(30), opened())[1])
        started = page.client.post("/api/capture", {"seconds": SECONDS, "level_dbfs": -6})
        assert started.status == 202 and json.loads(started.data)["state"] == "running"
        again = page.client.post("/api/capture", {"seconds": SECONDS})
        assert again.status == 409 and "already running" in json.loads(again.data)["error"]
        assert page.client.post("/api/mute", {"on": False}).status == 409  # the take stays clean
        assert page.client.post("/api/restart").status == 409
        gate.set()
        status = finished(page.client)
    assert status["state"] == "done", status
    assert status["progress"] == 1.0 and status["report"] == "ok"
    assert status["latency_frames"] == DELAY + 64 and (status["send"], status["return"]) == ("rig:in", "rig:out")
    assert len(muted_while_heard) > SECONDS * RATE / 64 / 2 and all(muted_while_heard)  # the signal has gaps
    assert page.pedal.muted is False
    # the recorder locks its callback's working set, not the whole engine process (mlockall: all of it)
    assert memory_use().locked_mb - locked_before < 0.5 * memory_use().rss_mb

    folder = Path(status["folder"])
    assert list(page.captures.iterdir()) == [folder]
    x, rate_x = sf.read(str(folder / "input.wav"), dtype="float32")
    y, rate_y = sf.read(str(folder / "output.wav"), dtype="float32")
    assert rate_x == rate_y == RATE and x.size == y.size == SECONDS * RATE
    assert esr(y, device(x)) < 1e-4
    doc = json.loads((folder / "capture.json").read_text())
    assert doc["rig"]["latency_frames"] == DELAY + 64 and doc["click_lags"] == [0] * len(doc["signal"]["click_frames"])


@pytest.mark.parametrize("muted_before", [False, True])
def test_an_uncalibrated_rig_is_refused_in_one_line_and_the_mute_put_back(page, muted_before):
    page.pedal.channel.set_mute(muted_before)
    with Rig(DELAY, shape=device):
        assert page.client.post("/api/capture", {"seconds": SECONDS}).status == 202
        status = finished(page.client)
    assert status["state"] == "failed" and "\n" not in status["error"]
    assert status["error"].startswith("the rig is not calibrated at 48000 Hz, period 64")
    assert "ampemu capture --calibrate" in status["error"]
    assert page.pedal.muted is muted_before and not page.captures.exists()


def test_bad_values_are_refused_before_anything_runs(page):
    for body, words in (({"seconds": "ten"}, "seconds must be a number"), ({"seconds": 0.5}, "seconds 0.5"),
                        ({"level_dbfs": 3}, "level_dbfs 3"), ({"send": "rig:in"}, "name both ports")):
        answer = page.client.post("/api/capture", body)
        assert answer.status == 400 and words in json.loads(answer.data)["error"], (body, answer.data)
    assert json.loads(page.client.get("/api/capture").data) == {"state": "idle"}
