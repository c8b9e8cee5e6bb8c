"""The web page's server against a real Channel (no audio server: the test runs the callback's block
code itself): the token, CSRF, POST-only changes, parameters, uploads into the bank's folder, saving
the bank, the live stream with meters and tuner, and what it refuses."""

from __future__ import annotations

import json
import os
import stat
import threading

import numpy as np
import pytest
import tomllib

from support.data import data_file
from support.presets import seed
from support.web import BANK_TEXT, TOKEN, Client, bank_folder

from engine.errors import AmpemuError
from engine.models import load_model
from engine.presets.bank import load_bank
from engine.realtime import channel as ch
from engine.realtime.block import for_families
from engine.realtime.channel import Channel
from engine.web.bank_edit import BankEditor
from engine.web.pedal import Pedal
from engine.web.server import WebServer
from engine.web.token import load_or_create_token

RATE = 44100
LIMIT = 200_000  # upload limit for these tests: a seed model (58 kB) fits, a NAM standard (407 kB) does not


@pytest.fixture
def rig(tmp_path):
    bank_path = bank_folder(tmp_path)
    bank = load_bank(bank_path)
    channel = Channel([load_model(p.model) for p in bank.presets])
    restarts = []
    editor = BankEditor(bank_path, RATE, max_upload=LIMIT)
    server = WebServer(Pedal(channel, [p.name for p in bank.presets], RATE), TOKEN, "127.0.0.1", 0, editor,
                       restart=lambda: restarts.append(True)).start()
    rig = type("Rig", (), {})()
    rig.channel, rig.server, rig.editor, rig.bank_path, rig.restarts = channel, server, editor, bank_path, restarts
    rig.client = Client(server.port)
    yield rig
    server.close()


def play(channel: Channel, signal: np.ndarray, block: int = 64) -> None:
    """What the audio callback would do with `signal`, block by block."""
    out = np.empty((block, 1), np.float32)
    interleaved_block = for_families(channel.families).interleaved_block
    for start in range(0, signal.size - block + 1, block):
        interleaved_block(channel.descriptor, signal[start:start + block].reshape(-1, 1).copy(), out)


def sine(hz: float, seconds: float = 0.3, amplitude: float = 0.25) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


# --- the token ---------------------------------------------------------------------------------------
def test_every_request_but_the_login_page_needs_the_token(rig):
    c = rig.client
    for path in ("/", "/app.js", "/api/state", "/api/live"):
        response = c.get(path, auth=None)
        assert response.status == 401, path
    assert "token" in c.get("/", auth=None).data.decode()  # the 401 page is the login form
    assert c.post("/api/preset", {"index": 1}, auth=None).status == 401
    assert c.get("/api/state", headers={"Authorization": "Bearer wrong-token-000000000"}, auth=None).status == 401
    assert c.get("/api/state", headers={"Cookie": "ampemu_token=wrong"}, auth=None).status == 401
    login = c.get("/login", auth=None)
    assert login.status == 200 and "<script" not in login.data.decode()
    assert rig.channel.commands[ch.COMMAND_COUNT] == 0  # nothing reached the engine


def test_token_link_sets_an_http_only_strict_cookie_and_drops_the_token_from_the_address(rig):
    c = rig.client
    assert c.get("/?token=nope", auth=None).status == 401
    response = c.get(f"/?token={TOKEN}", auth=None)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert f"ampemu_token={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = c.get("/", auth="cookie")
    assert page.status == 200 and "/app.js" in page.data.decode()
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert c.get("/api/state", auth="cookie").status == 200


def test_token_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "etc" / "web-token"
    token = load_or_create_token(path)
    assert len(token) >= 16 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_token(path) == token
    path.write_text("short\n")
    with pytest.raises(AmpemuError, match="shorter than 16"):
        load_or_create_token(path)


# --- CSRF and methods --------------------------------------------------------------------------------
def test_cookie_authenticated_changes_need_this_origin(rig):
    c = rig.client
    assert c.post("/api/preset", {"index": 1}, auth="cookie", origin=None).status == 403
    assert c.post("/api/preset", {"index": 1}, auth="cookie", origin="http://evil.example").status == 403
    assert c.post("/api/preset", {"index": 1}, auth="cookie", origin="null").status == 403
    referer = {"Referer": f"{c.base}/"}
    assert c.post("/api/bypass", {"on": False}, auth="cookie", origin=None, headers=referer).status == 200
    assert rig.channel.commands[ch.COMMAND_COUNT] == 1  # only the same-origin one was posted
    assert c.post("/api/preset", {"index": 1}, auth="cookie").status == 200
    play(rig.channel, np.zeros(256, np.float32))
    assert rig.channel.selected == 1


def test_state_changes_are_post_only_and_reads_change_nothing(rig):
    c = rig.client
    for path in ("/api/preset", "/api/bypass", "/api/params", "/api/upload", "/api/save", "/api/mute"):
        assert c.get(path).status == 405, path
    state = json.loads(c.get("/api/state").data)
    assert [p["name"] for p in state["presets"]] == ["Klon", "Plexi"] and state["current"] == 0
    assert state["params"]["input_gain_db"]["value"] == 0.0
    assert rig.channel.commands[ch.COMMAND_COUNT] == 0


def test_no_directory_listing_or_files_outside_the_page(rig):
    c = rig.client
    for path in ("/static/", "/static/app.js", "/engine/web/server.py", "/..%2Fserver.py", "/api/", "/login.html"):
        assert c.get(path).status == 404, path


def test_binds_only_to_the_address_asked_for(rig):
    assert {address[0] for address in rig.server._runner.addresses} == {"127.0.0.1"}


# --- the controls ----------------------------------------------------------------------------------
def test_preset_bypass_mute_and_params_reach_the_channel(rig):
    c, channel = rig.client, rig.channel
    assert c.post("/api/preset", {"index": 5}).status == 400
    assert c.post("/api/preset", {"index": True}).status == 400
    assert c.post("/api/bypass", {"on": True}).status == 200
    play(channel, np.zeros(64, np.float32))
    assert channel.bypassed
    assert c.post("/api/bypass").status == 200  # no "on": toggles
    play(channel, np.zeros(64, np.float32))
    assert not channel.bypassed
    assert c.post("/api/mute", {"on": True}).status == 200 and channel.control[ch.MUTE] == 1.0
    response = c.post("/api/params", {"input_gain_db": -6.0, "output_gain_db": 3.5})
    assert response.status == 200
    assert channel.control[ch.INPUT_GAIN] == pytest.approx(ch.db_to_gain(-6.0))
    assert json.loads(response.data)["params"]["output_gain_db"]["value"] == pytest.approx(3.5)
    for bad in ({"input_gain_db": 99}, {"input_gain_db": "loud"}, {"bass": 1.0}, {"output_gain_db": float("nan")}):
        assert c.post("/api/params", bad).status == 400, bad
    assert c.request("POST", "/api/params", None, headers={"Content-Type": "application/json"}).status == 400
    assert channel.control[ch.INPUT_GAIN] == pytest.approx(ch.db_to_gain(-6.0))  # refused changes change nothing


def read_events(rig, path: str, count: int, feed=None) -> list[dict]:
    response = rig.client.http.request("GET", rig.client.base + path, preload_content=False,
                                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    frames, buffer = [], b""
    for chunk in response.stream(256):
        if feed:
            feed()
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            frames.append(json.loads(event.decode().removeprefix("data: ")))
        if len(frames) >= count:
            break
    response.release_conn()
    return frames


def test_live_stream_meters_and_tuner(rig):
    channel = rig.channel
    first = read_events(rig, "/api/live", 1)[0]
    assert first["in"]["peak"] <= -120 and first["xruns"] == 0 and first["current"] == 0
    assert "tuner" not in first and {"temp_c", "throttled", "dsp"} <= set(first)
    tone = sine(110.0)
    frames = read_events(rig, "/api/live?tuner=1", 3, feed=lambda: play(channel, tone))
    last = frames[-1]
    assert last["in"]["peak"] == pytest.approx(20 * np.log10(0.25), abs=0.1)
    assert last["in"]["rms"] == pytest.approx(20 * np.log10(0.25 / np.sqrt(2)), abs=0.2)
    assert last["out"]["rms"] > -60 and last["dsp"] > 0 and last["blocks"] > 0
    assert last["tuner"]["note"] == "A2" and abs(last["tuner"]["cents"]) < 1.0
    channel.set_mute(True)  # mute while tuning: the output is silent, the tuner still hears the input
    last = read_events(rig, "/api/live?tuner=1", 2, feed=lambda: play(channel, sine(82.41)))[-1]
    assert last["muted"] and last["out"]["peak"] <= -120 and last["tuner"]["note"] == "E2"


# --- uploads and the bank ----------------------------------------------------------------------------
def upload(rig, filename: str, data: bytes, **fields):
    form = {"kind": "model", **{k: str(v) for k, v in fields.items()}, "file": (filename, data)}
    return rig.client.request("POST", "/api/upload", fields=form)


def files(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_upload_names_that_leave_the_folder_are_refused(rig, tmp_path):
    folder = rig.bank_path.parent
    before = files(folder)
    data = seed("Klon-Centaur").read_bytes()
    for name in ("../evil.nam", "../../evil.nam", "sub/evil.nam", "/tmp/evil.nam", "..\\evil.nam", ".hidden.nam",
                 "evil..nam", "", "evil.nam\x00.json"):
        response = upload(rig, name, data)
        assert response.status == 400, (name, response.data)
    assert files(folder) == before and not (tmp_path / "evil.nam").exists()
    assert not any(p.name.endswith("evil.nam") for p in tmp_path.rglob("*"))


def test_oversized_wrong_type_bad_content_and_existing_names_are_refused(rig):
    folder = rig.bank_path.parent
    before = files(folder)
    big = data_file("models", "nam", "wavenet_a1_standard.nam").read_bytes()
    response = upload(rig, "big.nam", big)
    assert response.status == 413 and "limit" in json.loads(response.data)["error"]
    assert upload(rig, "notes.txt", b"hello").status == 415
    assert upload(rig, "cab.wav", b"RIFF").status == 415  # a model upload must be a model file
    assert upload(rig, "cab.wav", b"RIFF", kind="ir").status == 400  # no cabinet IRs in this engine yet
    bad = upload(rig, "broken.nam", b'{"architecture": "WaveNet", "config": {}}')
    assert bad.status == 422 and "broken.nam" in json.loads(bad.data)["error"]
    assert upload(rig, "Klon-Centaur.json", seed("Klon-Centaur").read_bytes()).status == 409  # never overwritten
    assert upload(rig, "other.json", seed("Klon-Centaur").read_bytes(), name="Klon").status == 409  # name taken
    assert files(folder) == before  # no temp file left behind either
    assert rig.bank_path.read_text() == BANK_TEXT and not rig.editor.unsaved


def test_upload_adds_a_preset_and_save_keeps_comments_and_a_backup(rig):
    data = seed("Fender-Tweed-Deluxe").read_bytes()
    response = upload(rig, "Tweed (2024).json", data, name="Tweed")
    assert response.status == 200, response.data
    state = json.loads(response.data)
    assert state["bank"]["presets"] == ["Klon", "Plexi", "Tweed"] and state["bank"]["unsaved"]
    assert len(state["presets"]) == 2  # the engine plays the loaded bank until it restarts
    assert (rig.bank_path.parent / "Tweed (2024).json").read_bytes() == data
    assert rig.bank_path.read_text() == BANK_TEXT  # nothing written before Save
    assert rig.client.post("/api/restart").status == 409  # unsaved changes would be lost
    ts9 = data_file("models", "wavenetva", "SmartGuitarPedal_ts9_fullD.json").read_bytes()
    replaced = upload(rig, "Plexi-v2.json", ts9, replace=1)
    assert replaced.status == 200, replaced.data
    saved = rig.client.post("/api/save")
    assert saved.status == 200, saved.data
    text = rig.bank_path.read_text()
    assert "# my pedal bank: this comment must survive a save" in text and "# a trailing comment" in text
    assert (rig.bank_path.parent / "presets.toml.bak").read_text() == BANK_TEXT
    bank = load_bank(rig.bank_path)
    assert [p.name for p in bank.presets] == ["Klon", "Plexi", "Tweed"]
    assert bank.presets[1].model.name == "Plexi-v2.json" and bank.presets[2].model.name == "Tweed (2024).json"
    assert tomllib.loads(text)["crossfade_ms"] == 20
    assert rig.client.post("/api/restart").status == 200
    threading.Event().wait(0.5)
    assert rig.restarts == [True]


def test_a_capture_at_another_rate_is_taken_and_said_to_play_resampled(rig):
    nano = upload(rig, "nano.nam", data_file("models", "nam", "random_nano.nam").read_bytes(), name="Nano")
    assert nano.status == 200, nano.data  # a 48 kHz capture on this 44.1 kHz engine
    message = json.loads(nano.data)["ok"]
    assert "48000 Hz" in message and "plays resampled to the engine's 44100 Hz (+52 samples latency)" in message


def test_save_refuses_when_the_bank_changed_on_disk(rig):
    edited = BANK_TEXT + "\n# edited over ssh meanwhile\n"
    rig.bank_path.write_text(edited)
    response = rig.client.post("/api/save")
    assert response.status == 409 and "changed on disk" in json.loads(response.data)["error"]
    assert rig.bank_path.read_text() == edited


def test_web_address_and_a_busy_port_fail_in_one_line(rig):
    from engine.web.address import parse_web_address

    assert parse_web_address("8080") == ("127.0.0.1", 8080)
    assert parse_web_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_web_address("[::1]:9000") == ("::1", 9000)
    for bad in ("", "pedal", "pedal:http", "70000", "1.2.3.4:-1"):
        with pytest.raises(AmpemuError, match="use PORT or HOST:PORT"):
            parse_web_address(bad)
    busy = WebServer(rig.server.pedal, TOKEN, "127.0.0.1", rig.server.port)
    with pytest.raises(AmpemuError, match=f"--web 127.0.0.1:{rig.server.port}: cannot listen there"):
        busy.start()


def test_run_refuses_a_bad_web_address_before_starting_audio():
    import subprocess
    import sys

    from support.data import REPO

    done = subprocess.run([sys.executable, "-m", "engine.cli", "run", "--model", str(seed("Klon-Centaur")),
                           "--web", "pedal:http"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("use PORT or HOST:PORT (e.g. 8080, or 0.0.0.0:8080 for "
                                                           "every interface)")


def test_capture_needs_a_capture_folder(rig):
    assert json.loads(rig.client.get("/api/state").data)["can_capture"] is False
    for answer in (rig.client.get("/api/capture"), rig.client.post("/api/capture", {"seconds": 10})):
        assert answer.status == 409 and "captures need a preset bank" in json.loads(answer.data)["error"]
