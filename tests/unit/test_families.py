"""engine/families.py: every model family declared once, and everything that asks "which family?"
gets the registry's answer."""

import numpy as np
import pytest

from support.data import data_file
from engine import families
from engine.kernels.dispatch import process_block
from engine.models import load_model

FILES = {
    "gated_wavenet": ("models", "wavenetva", "SmartGuitarPedal_ts9_fullD.json"),
    "nam_wavenet": ("models", "nam", "random_nano.nam"),
    "nam_lstm": ("models", "nam-a2", "lstm.nam"),
    "nam_container": ("models", "nam-a2", "fuzzface_a2.nam"),
}


def test_each_family_once_with_one_spelling():
    names = [f.name for f in families.families()]
    assert names == ["gated_wavenet", "nam_wavenet", "nam_lstm", "nam_container", "onnx"]
    assert families.suffixes() == [".json", ".nam", ".onnx"] and families.suffixes("numba") == [".json", ".nam"]
    kernels = [f.kernel for f in families.families() if f.kernel is not None]
    assert len(set(kernels)) == len(kernels)


@pytest.mark.parametrize("name", FILES)
def test_a_file_reads_as_its_family(name):
    family, model = families.read(data_file(*FILES[name]))
    assert family.name == name and families.of_model(model) is family


@pytest.mark.parametrize("name", [n for n in FILES if families.by_name(n).kernel is not None])
def test_every_registered_kernel_is_dispatched(name):
    """dispatch.py's branches are written by hand (compiled code): a family whose kernel id it does not
    know would play silence."""
    model = load_model(data_file(*FILES[name]))
    assert model.layout[0] == families.by_name(name).kernel
    x = (0.3 * np.random.default_rng(0).standard_normal(256)).astype(np.float32)
    y = np.zeros_like(x)
    model.reset()
    process_block(model.layout, model.weights, model.state, model.cursor, x, y)
    assert np.std(y) > 1e-4


@pytest.mark.parametrize("name", [n for n in FILES if families.by_name(n).kernel is not None])
def test_every_kernel_family_is_checked_against_the_limits_before_building(name, monkeypatch):
    """One check for every family: Family.load refuses on the Needs the family declares, before its
    kernel allocates anything."""
    family, model = families.read(data_file(*FILES[name]))
    needs = family.needs(model)
    assert 0 < needs.macs == model.macs_per_sample and needs.sample_rate == model.sample_rate
    families.check_limits(needs)  # a real capture is within them
    monkeypatch.setattr(families, "MAX_MACS_PER_SAMPLE", needs.macs - 1)
    with pytest.raises(families.BeyondLimits, match="multiply-adds per sample, more than a CPU core plays"):
        family.load(model)


def test_slim_sizes_come_from_the_family():
    fam, container = families.read(data_file(*FILES["nam_container"]))
    assert families.slim_sizes(fam, container) == [0.5, 0.0]
    assert families.of_model(fam.slimmed(container, 0.0)).name == "nam_wavenet"
    assert families.slim_sizes(*families.read(data_file(*FILES["gated_wavenet"]))) == []


def test_unknown_format_names_the_supported_ones(tmp_path):
    from engine.errors import AmpemuError

    with pytest.raises(AmpemuError, match=r"unknown model format '\.wav'; supported: \.json \(WaveNetVA"):
        families.read(tmp_path / "x.wav")


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        families.register(families.by_name("nam_lstm"))


def test_training_exports_what_the_registry_declares():
    pytest.importorskip("torch", reason="training's exporters need the train extra")
    from training.export import EXPORTERS, NATIVE_FORMAT

    assert set(EXPORTERS) == {f.exporter for f in families.families() if f.exporter}
    assert NATIVE_FORMAT == {"gated_wavenet": "json", "nam_wavenet": "nam", "nam_container": "nam"}
