"""pi/install.sh and pi/uninstall.sh against a temporary root, and the systemd units."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.data import REPO
UNITS = ["ampemu-jack.service", "ampemu.service", "ampemu-governor.service"]


def run_script(name, root):
    env = dict(os.environ, AMPEMU_ROOT=str(root))
    done = subprocess.run(["bash", str(REPO / "pi" / name)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_install_writes_every_file_and_rerun_changes_nothing(tmp_path):
    out = run_script("install.sh", tmp_path)
    files = snapshot(tmp_path)
    for unit in UNITS:
        assert f"etc/systemd/system/{unit}" in files
    for path in ("etc/ampemu/jack.conf", "etc/ampemu/presets.toml", "etc/security/limits.d/95-ampemu.conf",
                 "opt/ampemu/src/pyproject.toml", "opt/ampemu/src/engine/kernels/gated_wavenet.py"):
        assert path in files, path
    assert "opt/ampemu/src/ampemu_tools/latency.py" in files  # `ampemu bench` and `latency` are for the Pi too
    assert not any(path.startswith("opt/ampemu/src/training/") for path in files)  # the Pi never trains
    assert (tmp_path / "var/cache/ampemu/numba").is_dir() and (tmp_path / "var/lib/ampemu").is_dir()
    assert not any("torch" in line for line in out.splitlines() if line.startswith("would run: ") and "pip" in line)
    assert "--no-install-recommends" in out and "jackd2" in out
    assert "would run: systemctl enable ampemu-governor.service ampemu-jack.service ampemu.service" in out
    limits = (tmp_path / "etc/security/limits.d/95-ampemu.conf").read_text()
    assert "rtprio     95" in limits and "memlock    unlimited" in limits

    run_script("install.sh", tmp_path)
    assert snapshot(tmp_path) == files


def test_install_keeps_the_users_config(tmp_path):
    bank = tmp_path / "etc/ampemu/presets.toml"
    bank.parent.mkdir(parents=True)
    bank.write_text("# my own bank\n")
    out = run_script("install.sh", tmp_path)
    assert bank.read_text() == "# my own bank\n"
    assert "keeping existing /etc/ampemu/presets.toml" in out


def test_uninstall_removes_what_install_added_but_not_the_config(tmp_path):
    run_script("install.sh", tmp_path)
    run_script("uninstall.sh", tmp_path)
    left = snapshot(tmp_path)
    assert set(left) == {"etc/ampemu/jack.conf", "etc/ampemu/presets.toml"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze_verify(unit, tmp_path):
    """Verified as installed, except that the engine's binary is this checkout's venv (the /opt
    venv only exists on a Pi): systemd-analyze checks that every ExecStart is executable."""
    ampemu = REPO / ".venv" / "bin" / "ampemu"
    if not ampemu.exists():
        pytest.skip("the project's .venv is missing (run scripts/bootstrap.sh)")
    text = (REPO / "systemd" / unit).read_text().replace("/opt/ampemu/venv/bin/ampemu", str(ampemu))
    for other in UNITS:  # the units name each other: give verify all three
        (tmp_path / other).write_text((REPO / "systemd" / other).read_text())
    (tmp_path / unit).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / unit)],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in done.stderr.splitlines()
                if unit in line and "ampemu.service: Command" not in line]
    assert done.returncode == 0 and not problems, done.stderr
