"""--slim auto: the largest size of a slimmable NAM model that fits the period, by measurement."""

import argparse
import itertools

import pytest

from support.data import data_file
from engine.slim import add_slim_argument, slim_size
from engine.slim_auto import candidate_sizes, choose_slim


def ticking(ns_per_call):
    """A fake clock: every block appears to take `ns_per_call` nanoseconds."""
    counter = itertools.count(step=ns_per_call)
    return lambda: next(counter)


def test_candidates_of_a_container_and_a_slimmable_wavenet():
    assert candidate_sizes(data_file("models", "nam-a2", "fuzzface_a2.nam")) == [0.5, 0.0]
    assert candidate_sizes(data_file("models", "nam-a2", "slimmable_wavenet.nam")) == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert candidate_sizes(data_file("models", "nam", "wavenet_a1_standard.nam")) == []


def test_a_fast_machine_plays_the_largest_size():
    choice = choose_slim(data_file("models", "nam-a2", "fuzzface_a2.nam"), 64, 48000, timer=ticking(1_000))
    assert choice.size == 0.5 and "submodel 2" in choice.model.description
    assert "largest size whose p99 fits 40% of the 64-frame period" in choice.reason


def test_a_tiny_budget_picks_the_smaller_submodel():
    path = data_file("models", "nam-a2", "fuzzface_a2.nam")
    choice = choose_slim(path, 64, 48000, budget=1e-6, timer=ticking(1_000))
    assert choice.size == 0.0
    assert "no size fits" in choice.reason and "submodel 1" in choice.model.description


def test_budget_between_the_two_sizes(monkeypatch):
    """Size 0.5 (A2-Full) 'costs' 600 us a block, size 0 (A2-Lite) 100 us: 40 % of 1333 us picks Lite."""
    import engine.slim_auto as slim_auto

    real = slim_auto.p99_block_seconds

    def fake(model, period, timer, blocks=slim_auto.BURST_BLOCKS):
        per_block = 600_000 if "submodel 2" in model.description else 100_000
        return real(model, period, ticking(per_block), blocks=5)

    monkeypatch.setattr(slim_auto, "p99_block_seconds", fake)
    choice = choose_slim(data_file("models", "nam-a2", "fuzzface_a2.nam"), 64, 48000)
    assert choice.size == 0.0 and "size 0.5: p99 600 us" in choice.reason


def test_not_slimmable_is_played_as_is():
    choice = choose_slim(data_file("models", "wavenetva", "SmartGuitarPedal_ts9_fullD.json"), 64, 44100)
    assert choice.size is None and choice.reason == "not a slimmable model"


def test_slim_argument():
    assert slim_size("auto") == "auto" and slim_size("0.25") == 0.25
    for bad in ("1.5", "-0.1", "nan", "big"):
        with pytest.raises(argparse.ArgumentTypeError, match="give a size in 0..1"):
            slim_size(bad)


def test_one_slim_option_for_every_command():
    """run takes auto (its default); process and bench take sizes only, bench several."""
    def parser(**kind):
        p = argparse.ArgumentParser(exit_on_error=False)
        add_slim_argument(p, help="", **kind)
        return p
    assert parser(auto=True).parse_args([]).slim == "auto"
    assert parser().parse_args([]).slim is None and parser().parse_args(["--slim", "0.5"]).slim == 0.5
    assert parser(repeatable=True).parse_args(["--slim", "0", "--slim", "1"]).slim == [0.0, 1.0]
    with pytest.raises(argparse.ArgumentError, match="auto chooses a size for playing"):
        parser().parse_args(["--slim", "auto"])


def test_a_host_is_asked_for_its_period_only_for_slimmable_files():
    from engine.slim_auto import load_for_playing

    asked = []

    def settings():
        asked.append(True)
        return 64, 48000

    plain = load_for_playing(data_file("models", "nam", "random_nano.nam"), "auto", settings, say=lambda _: None)
    assert not asked and plain.receptive_field > 0
    said = []
    load_for_playing(data_file("models", "nam-a2", "fuzzface_a2.nam"), "auto", settings, say=said.append)
    assert asked and "--slim auto chose size" in said[0]
    fixed = load_for_playing(data_file("models", "nam-a2", "fuzzface_a2.nam"), 0.0, settings, say=said.append)
    assert "submodel 1" in fixed.description and len(asked) == 1
