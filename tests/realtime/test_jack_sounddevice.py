"""The sounddevice (PortAudio) fallback: a real stream through PortAudio's JACK host API on a private
dummy jackd (no sound card needed). Its block code is tested for exactness in test_jack_block.py."""

from __future__ import annotations

import re

import pytest

from support.jack import RATE, ampemu, seed_model_path, start_server
@pytest.fixture(scope="module")
def server():
    srv = start_server(RATE, period=128)
    yield srv
    srv.stop()


def test_sounddevice_backend_streams_through_portaudio(server):
    # PortAudio lists the JACK server as device "system" when one runs at its start-up
    result = ampemu("run", "--backend", "sounddevice", "--device", "system", "--blocksize", "128", "--model",
                    seed_model_path(), "--duration", "2", "--stats", "--stats-interval", "0.5", env=server.env)
    assert result.returncode == 0, result.stderr
    blocks = [int(m) for m in re.findall(r"^blocks (\d+)", result.stdout, re.M)]
    assert blocks and blocks[-1] > 300, result.stdout  # ~690 blocks of 128 in 2 s at 44.1 kHz


def test_sounddevice_unknown_device_is_one_line(server):
    result = ampemu("run", "--backend", "sounddevice", "--device", "no-such-card", "--model", seed_model_path(),
                    env=server.env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-card" in lines[0] and "devices:" in lines[0], result.stderr


def test_sounddevice_plays_a_bank_model_at_another_rate_resampled(server, tmp_path):
    """The device opens at the first preset's rate (44.1 kHz); a 48 kHz capture in the bank plays
    through the resampler, said once."""
    from support.data import data_file

    bank = tmp_path / "bank.toml"
    bank.write_text(f'[[preset]]\nname = "Seed"\nmodel = "{seed_model_path()}"\n'
                    f'[[preset]]\nname = "Nano"\nmodel = "{data_file("models", "nam", "random_nano.nam")}"\n')
    result = ampemu("run", "--backend", "sounddevice", "--device", "system", "--blocksize", "128", "--presets",
                    str(bank), "--duration", "1", env=server.env)
    assert result.returncode == 0, result.stderr
    assert "ampemu run: model 48000 Hz on a 44100 Hz device: resampling, +52 samples latency, ~" in result.stdout
    checked = ampemu("presets", "check", str(bank), env=server.env)
    assert checked.returncode == 0 and "the models mix sample rates [44100, 48000]" in checked.stdout, checked.stdout
