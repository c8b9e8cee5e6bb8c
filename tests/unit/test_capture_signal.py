"""The capture signal, the take's checks, the capture callback's block logic and the rig calibration file:
everything of `ampemu capture` that needs no JACK server (tests/realtime/test_capture_jack.py has the rest)."""

import json

import numpy as np
import pytest

from engine.capture import calibration
from engine.capture import callback as cb
from engine.capture.checks import check_take, zero_runs
from engine.capture.signal import Guitar, _string, capture_signal, click_positions, click_slot, layout, pluck
from engine.cli import main
from engine.errors import AmpemuError


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_signal_is_deterministic_at_any_rate_with_isolated_clicks_at_the_documented_frames(rate):
    x = capture_signal(4.0, rate, level_db=-6.0)
    assert x.dtype == np.float32 and x.size == int(4.0 * rate)
    assert np.array_equal(x, capture_signal(4.0, rate, level_db=-6.0))
    peak = np.float32(10 ** (-6 / 20))
    assert np.max(np.abs(x)) == pytest.approx(peak)
    clicks = click_positions(4.0, rate)
    assert len(clicks) == 7 and clicks == sorted(clicks)
    quiet = int(click_slot(4.0) * rate) // 3  # silence on both sides of each click
    for p in clicks:
        assert x[p] == pytest.approx(peak)
        assert not np.any(x[p - quiet:p]) and not np.any(x[p + 1:p + 2 * quiet])


def test_signal_sections_hold_what_docs_capture_md_promises():
    rate = 48000
    x = capture_signal(180.0, rate).astype(np.float64)
    sections, clicks = layout(180.0, rate)
    part = {s.name: x[s.start:s.start + s.length] for s in sections}
    assert not np.any(part["silence"]) and not np.any(part["tail"])  # the noise floor and the ring-out
    peak_db = lambda a: 20 * np.log10(np.max(np.abs(a)))  # noqa: E731

    def loudness_db(a):  # RMS of the 50 ms frames within 40 dB of the loudest: the playing, not its pauses
        rms = np.sqrt(np.mean(a[:a.size // 2400 * 2400].reshape(-1, 2400) ** 2, axis=1))
        return 10 * np.log10(np.mean(rms[rms > rms.max() / 100] ** 2))

    for name in ("notes", "chords", "mutes"):  # four dynamics, soft to hard, each 6 dB louder
        edges = np.linspace(0, part[name].size, 5).astype(int)
        blocks = [part[name][a:b] for a, b in zip(edges[:-1], edges[1:])]
        assert np.diff([loudness_db(b) for b in blocks]) == pytest.approx([6.0, 6.0, 6.0], abs=0.01)
        assert peak_db(part[name]) <= -6.0 + 1e-4  # the signal's peak (-6 dBFS) is the most any reaches
    noise_levels = [peak_db(b) for b in np.array_split(part["noise"], 5)]
    assert np.diff(noise_levels) == pytest.approx([8.0] * 4, abs=0.01)
    spectrum = np.abs(np.fft.rfft(part["noise"])) ** 2
    freqs = np.fft.rfftfreq(part["noise"].size, 1 / rate)
    in_band = spectrum[(freqs > 150) & (freqs < 4000)].mean()
    assert spectrum[freqs > 12000].mean() < 1e-4 * in_band  # a pickup's band: little above 5 kHz
    for name in ("notes", "chords", "mutes", "mixed"):  # as dark as a DI (the shared takes: 500-900 Hz)
        power = np.abs(np.fft.rfft(part[name])) ** 2
        centroid = np.sum(np.fft.rfftfreq(part[name].size, 1 / rate) * power) / np.sum(power)
        assert 200 < centroid < 1000, (name, centroid)
    assert clicks[0] > sections[1].start - int(0.5 * rate)  # after the noise-floor silence


def test_the_click_frames_docs_capture_md_lists():
    assert click_positions() == [262160, 540320, 2258720, 3553520, 4678880, 5041760, 8369840]


def test_pluck_is_the_karplus_strong_recursion():
    rate, freq = 48000, 220.0
    y = pluck(freq, 0.2, rate, 0.8, np.random.default_rng(3))
    period = round(rate / freq)
    d = 0.996 ** (440 / freq) / 2
    t = np.arange(2 * period + 1, y.size)
    assert np.allclose(y[t], d * (y[t - period] + y[t - period - 1]), atol=1e-12)


@pytest.mark.parametrize("note", [40, 52, 64, 76])
def test_a_string_starts_without_a_click_and_sounds_at_its_pitch(note):
    """A pickup hears the string's speed: a step in the plucked shape (a string not at rest where the
    delay line starts) is an impulse in it, circulating with the note, a click on every note that a
    device would learn as an attack. With the string's brightness kept (a long attack_s), its first
    periods must be about as loud as later ones (the string loses 3 dB/s), and the note at its pitch."""
    rate = 48000
    guitar = Guitar(pickup_at=0.12, resonance_hz=2500.0, q=1.2, polarity=1.0)
    y = _string(note, 0.5, rate, 1.0, np.random.default_rng(note), guitar, decay_db_s=-3.0, smoothing=1,
                release_s=0.02, attack_s=10.0)
    period = rate / (440 * 2 ** ((note - 69) / 12))
    first = np.max(np.abs(y[:int(3 * period)]))
    assert first < 1.2 * np.max(np.abs(y[int(20 * period):int(30 * period)]))
    settled = y[int(0.2 * rate):int(0.45 * rate)]
    lags = np.arange(int(0.6 * period), int(1.4 * period))  # it repeats once a period, and nowhere closer
    match = [np.dot(settled[:-lag], settled[lag:]) / np.dot(settled[:-lag], settled[:-lag]) for lag in lags]
    loop = round(period) + 0.5  # Karplus-Strong's period: whole samples, plus half for its two-point average
    assert lags[np.argmax(match)] == pytest.approx(loop, abs=1) and max(match) > 0.9


def test_signal_arguments_out_of_range_are_one_line_errors():
    with pytest.raises(AmpemuError, match="--seconds 1"):
        capture_signal(1.0, 48000)
    with pytest.raises(AmpemuError, match="--level 3"):
        capture_signal(3.0, 48000, level_db=3.0)


# --- the callback's block logic, called directly -----------------------------------------------------
def _descriptor(play, take):
    d = np.zeros(cb.DESCRIPTOR_SIZE, np.int64)
    d[cb.PLAY], d[cb.PLAY_LENGTH] = play.ctypes.data, play.size
    d[cb.TAKE], d[cb.TAKE_LENGTH] = take.ctypes.data, take.size
    d[cb.FIRST_GAP_AT] = -1
    return d


def test_capture_block_plays_and_records_in_step_and_counts_skipped_cycles():
    play = np.arange(1, 301, dtype=np.float32)
    take = np.zeros(320, np.float32)
    d = _descriptor(play, take)
    send = np.full(64, 7.0, np.float32)
    cb.capture_block(d, send, np.ones(64, np.float32), 64, 1000)
    assert not np.any(send) and d[cb.POSITION] == 0  # not armed: silence, nothing recorded
    d[cb.ARMED] = 1
    frame_time, returned = 5000, []
    for k in range(5):
        ret = np.full(64, -(k + 1), np.float32)
        returned.append(ret.copy())
        if k == 3:
            frame_time += 128  # JACK skipped two cycles before this one
        cb.capture_block(d, send, ret, 64, frame_time)
        expected = np.zeros(64, np.float32)
        stop = min(300, 64 * k + 64)
        expected[:stop - 64 * k] = play[64 * k:stop]
        assert np.array_equal(send, expected)
        frame_time += 64
    assert np.array_equal(take, np.concatenate(returned)[:320])
    assert d[cb.POSITION] == 320 and d[cb.CYCLES] == 5
    assert (d[cb.GAPS], d[cb.GAP_FRAMES], d[cb.FIRST_GAP_AT]) == (1, 128, 192)
    cb.capture_block(d, send, np.ones(64, np.float32), 64, frame_time)  # the take is full: silence
    assert not np.any(send) and d[cb.POSITION] == 320


# --- the take's checks ------------------------------------------------------------------------------
RATE = 48000


def _take(seconds=3.0):
    x = capture_signal(seconds, RATE).astype(np.float32)
    sections, clicks = layout(seconds, RATE)
    floor = slice(sections[0].start, sections[0].start + sections[0].length)
    return x, clicks, int(click_slot(seconds) * RATE) // 3, floor


def _loud_chord(x):
    """A frame in the chords section where the signal is loud."""
    chords = next(s for s in layout(3.0, RATE)[0] if s.name == "chords")
    return chords.start + int(np.flatnonzero(np.abs(x[chords.start:chords.start + chords.length]) > 0.1)[0])


def _check(sent, returned, clicks, window, floor, **faults):
    args = dict(xruns_at=[], skipped_cycles=0, skipped_frames=0, first_skip_at=-1) | faults
    return check_take(sent, returned, RATE, clicks, window, floor, **args)


def test_a_clean_take_passes_and_reports_each_clicks_delay():
    x, clicks, window, floor = _take()
    y = np.concatenate([np.zeros(3, np.float32), 0.5 * np.tanh(3 * x)[:-3]])  # a device 3 samples late
    y += 1e-5 * np.random.default_rng(0).standard_normal(y.size).astype(np.float32)
    report = _check(x, y, clicks, window, floor)
    assert report.problems == []
    assert report.click_lags == [3] * len(clicks)
    assert report.levels["return_noise_floor_dbfs"] == pytest.approx(-100, abs=1)


def test_each_fault_is_named():
    x, clicks, window, floor = _take()
    y = 0.5 * np.tanh(3 * x)
    loud = _loud_chord(x)
    cases = {
        "xrun": dict(xruns_at=[RATE]),
        "skipped the capture client in 2 cycle": dict(skipped_cycles=2, skipped_frames=128, first_skip_at=RATE),
    }
    for words, faults in cases.items():
        problems = _check(x, y, clicks, window, floor, **faults).problems
        assert len(problems) == 1 and words in problems[0]
    clipped = np.clip(4 * y, -1, 1)
    assert "the return clips" in _check(x, clipped, clicks, window, floor).problems[0]
    assert "too quiet" in _check(x, 1e-3 * y, clicks, window, floor).problems[0]
    dropped = y.copy()
    dropped[loud:loud + 64] = 0.0
    problems = _check(x, dropped, clicks, window, floor).problems
    assert len(problems) == 1 and "dropped out 1 time(s)" in problems[0]
    noisy = y + 1e-5 * np.random.default_rng(1).standard_normal(y.size).astype(np.float32)  # a converter's floor
    slipped = np.concatenate([noisy[:loud], noisy[loud + 5:], noisy[:5]])  # 5 samples lost
    problems = _check(x, slipped, clicks, window, floor).problems
    assert len(problems) == 1 and "clicks came back at different delays" in problems[0]


def test_zero_runs():
    x = np.array([1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0], np.float32)
    assert zero_runs(x, 3) == [(1, 4), (8, 11)]


# --- the rig calibration file -----------------------------------------------------------------------
def _rig(send="a:out", latency=100, period=64):
    return calibration.RigCalibration(send, "b:in", 48000, period, latency, -0.5, -90.0, 0.99, "2026-11-30T00:00:00+00:00")


def test_calibrations_are_kept_per_rig_and_jack_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert calibration.find("a:out", "b:in", 48000, 64) is None
    path = calibration.save(_rig(latency=100))
    calibration.save(_rig(latency=300, period=256))
    calibration.save(_rig(latency=101))  # a new calibration of the same rig replaces the old one
    assert path == tmp_path / "ampemu" / "capture-rigs.json"
    assert len(json.loads(path.read_text())["rigs"]) == 2
    assert calibration.find("a:out", "b:in", 48000, 64).latency == 101
    assert calibration.find("a:out", "b:in", 48000, 256).latency == 300
    assert calibration.find("a:out", "b:in", 44100, 64) is None


def test_a_broken_calibration_file_is_named_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "ampemu").mkdir()
    (tmp_path / "ampemu" / "capture-rigs.json").write_text('{"rigs": [{"send": 1}]}')
    with pytest.raises(AmpemuError, match="capture-rigs.json: not a readable rig calibration file"):
        calibration.find("a:out", "b:in", 48000, 64)


# --- the command, without JACK ------------------------------------------------------------------------
def test_signal_command_writes_the_signal_and_never_overwrites(tmp_path, capsys):
    import soundfile as sf

    path = tmp_path / "signal.wav"
    assert main(["capture", "--signal", str(path), "--seconds", "3", "--rate", "44100"]) == 0
    data, rate = sf.read(str(path), dtype="float32")
    assert rate == 44100 and np.array_equal(data, capture_signal(3.0, 44100))
    assert ", ".join(map(str, click_positions(3.0, 44100))) in capsys.readouterr().out
    assert main(["capture", "--signal", str(path), "--seconds", "3"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_an_existing_take_is_refused_before_anything_plays(tmp_path, capsys):
    (tmp_path / "output.wav").write_bytes(b"keep me")
    assert main(["capture", "--out", str(tmp_path), "--send", "a:in", "--return", "b:out", "--seconds", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a take is already there" in err[0] and "--overwrite" in err[0]
    assert (tmp_path / "output.wav").read_bytes() == b"keep me"


def test_no_jack_server_is_one_line_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "ampemu-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    assert main(["capture", "--calibrate", "--send", "a:in", "--return", "b:out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot connect to a JACK server" in err[0] and "jackd -d alsa" in err[0]
