#!/usr/bin/env bash
# Install ampemu as a headless pedal on Raspberry Pi OS (Debian 12 bookworm, arm64) on a Pi 5.
#
#   sudo bash pi/install.sh            # from a clone of the repository
#
# Idempotent: safe to re-run after `git pull`. Never overwrites /etc/ampemu/* files that exist (your
# JACK settings and preset bank); the units and the program itself are replaced.
#
# AMPEMU_ROOT=/some/dir installs every file under that prefix instead of / (DESTDIR style) and only
# prints the system commands it would run (apt-get, useradd, systemctl, the venv): used by the tests.
set -euo pipefail

ROOT="${AMPEMU_ROOT:-}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/ampemu
USER_NAME=ampemu
# lgpio (the Pi 5's GPIO library behind gpiozero) comes as a PyPI wheel with the pi extra
PACKAGES=(jackd2 libportaudio2 libsndfile1 python3-venv alsa-utils)

say() { echo "ampemu install: $*"; }

# System commands really run only on a real install; under AMPEMU_ROOT they are printed.
run() {
    if [ -n "$ROOT" ]; then
        echo "would run: $*"
    else
        "$@"
    fi
}

if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    echo "ampemu install: run as root (sudo bash pi/install.sh)" >&2
    exit 1
fi

# Write $2 to $1 only when $1 does not exist yet (the user's config is never overwritten).
write_if_absent() {
    local path="$ROOT$1"
    if [ -e "$path" ]; then
        say "keeping existing $1"
    else
        mkdir -p "$(dirname "$path")"
        printf '%s\n' "$2" > "$path"
        say "wrote $1"
    fi
}

# Install a file we own (replaced on every run; content-identical re-runs change nothing).
install_file() {
    local mode="$1" from="$2" to="$ROOT$3"
    mkdir -p "$(dirname "$to")"
    if ! cmp -s "$from" "$to" 2>/dev/null; then
        install -m "$mode" "$from" "$to"
        say "installed $3"
    fi
}

say "system packages: ${PACKAGES[*]}"
run apt-get update -qq
# jackd2 asks whether to enable real-time priority: answer yes, non-interactively
run sh -c 'echo "jackd2 jackd/tweak_rt_limits boolean true" | debconf-set-selections'
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"

if [ -n "$ROOT" ] || ! id "$USER_NAME" >/dev/null 2>&1; then
    run useradd --system --home-dir /var/lib/ampemu --shell /usr/sbin/nologin "$USER_NAME"
fi
# Raspberry Pi OS has a gpio group owning /dev/gpiochip*; plain Debian does not: create it then
if [ -n "$ROOT" ] || ! getent group gpio >/dev/null; then
    run groupadd --force --system gpio
fi
run usermod -a -G audio,gpio "$USER_NAME"

# The program: a copy of the sources (what pip installs from) and a venv without torch: the Pi
# runtime (engine/) and the measuring tools `ampemu bench` and `ampemu latency` (ampemu_tools/);
# never training/.
say "copying the project to $PREFIX/src"
for item in engine ampemu_tools examples pyproject.toml README.md; do
    [ -e "$SRC/$item" ] || continue
    mkdir -p "$ROOT$PREFIX/src"
    if [ -d "$SRC/$item" ]; then
        (cd "$SRC" && find "$item" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0) |
            while IFS= read -r -d '' f; do install_file 0644 "$SRC/$f" "$PREFIX/src/$f"; done
    else
        install_file 0644 "$SRC/$item" "$PREFIX/src/$item"
    fi
done
if [ -n "$ROOT" ] || [ ! -x "$PREFIX/venv/bin/python" ]; then
    run python3 -m venv "$PREFIX/venv"
fi
run "$PREFIX/venv/bin/pip" install -q --upgrade "$PREFIX/src[pi]"

# Default configuration, only when absent.
write_if_absent /etc/ampemu/jack.conf "# JACK settings for the ampemu pedal (read by ampemu-jack.service).
# JACK_DEVICE: the ALSA card, see 'aplay -l' (e.g. hw:CARD=CODEC or hw:1).
JACK_DEVICE=hw:0
# JACK_RATE must be the rate your captures were made at: the bundled demo is a 44.1 kHz capture,
# most NAM captures are 48 kHz (ampemu doctor compares them).
# 64 frames x 3 periods: 4 ms of buffering, the sweet spot on a Pi 5 with USB audio.
# Use 128 x 2 if you hear crackles with larger models.
JACK_RATE=44100
JACK_PERIOD=64
JACK_NPERIODS=3
JACK_EXTRA="
write_if_absent /etc/ampemu/presets.toml "$(cat "$SRC/pi/default-presets.toml")"
# The phone page's token (ampemu doctor prints the link): readable by the service user only.
if [ ! -e "$ROOT/etc/ampemu/web-token" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' > "$ROOT/etc/ampemu/web-token")
    say "wrote /etc/ampemu/web-token"
fi
# The page saves the bank and uploads captures next to it: the folder belongs to the service user.
run chown "$USER_NAME:audio" /etc/ampemu /etc/ampemu/presets.toml /etc/ampemu/web-token

# Real-time limits for the audio group (JACK and the engine run as members).
install_file 0644 "$SRC/pi/limits-ampemu.conf" /etc/security/limits.d/95-ampemu.conf

# Units.
for unit in ampemu-jack.service ampemu.service ampemu-governor.service; do
    install_file 0644 "$SRC/systemd/$unit" "/etc/systemd/system/$unit"
done

# State and cache folders owned by the service user.
mkdir -p "$ROOT/var/lib/ampemu" "$ROOT/var/cache/ampemu/numba"
run chown -R "$USER_NAME:audio" /var/lib/ampemu /var/cache/ampemu

# Compile the kernels for this CPU now, so the first boot does not wait for numba.
say "compiling the kernels for this CPU (about a minute)"
run runuser -u "$USER_NAME" -- env AMPEMU_NUMBA_CACHE=/var/cache/ampemu/numba \
    "$PREFIX/venv/bin/ampemu" presets check /etc/ampemu/presets.toml

if [ -n "$ROOT" ] || command -v systemctl >/dev/null; then
    run systemctl daemon-reload
    run systemctl enable ampemu-governor.service ampemu-jack.service ampemu.service
    say "done. Start now with: systemctl start ampemu-jack   (then: journalctl -fu ampemu)"
else
    say "done, but systemd is not running here (a chroot?): enable the three ampemu units on the real system"
fi
