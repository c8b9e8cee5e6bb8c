#!/usr/bin/env bash
# Idempotent set-up shared by setup.sh and test.sh: system packages, a venv in .venv, the project.
# Safe to re-run; fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the web page's real-browser test (tests/realtime/test_web_browser.py)
SYSTEM_PACKAGES=(libsndfile1 libportaudio2 jackd2 python3-venv chromium chromium-driver)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing system packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # jackd2 asks about real-time priority in a debconf prompt: answer it non-interactively
    echo "jackd2 jackd/tweak_rt_limits boolean true" | $SUDO debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.ampemu-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing ampemu and its dependencies into .venv (a few minutes the first time)"
    .venv/bin/python -m pip install -q --upgrade pip
    # CPU torch, pinned first: an unpinned torch would pull a multi-GB CUDA build
    .venv/bin/python -m pip install -q "torch==2.13.0"
    .venv/bin/python -m pip install -q -e ".[train,pi,dev]"
    touch "$stamp"
fi
