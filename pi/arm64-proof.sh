#!/usr/bin/env bash
# The arm64 proof: run pi/install.sh inside a Debian 12 (bookworm) arm64 root under qemu-user
# emulation (no services started), then render a golden model there with the installed ampemu and
# compare with the x86 render of the same input (<= 5e-5) and with WaveNetVA's C++ output.
#
#   sudo bash pi/arm64-proof.sh [WORKDIR]      (slow: 15-30 minutes; not part of the default tests)
#
# Needs root, Debian's mirrors and PyPI, binfmt_misc (mounted if missing), and ../shared.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-/tmp/ampemu-arm64}"
ROOTFS="$WORK/rootfs"
MODEL="$SRC/../shared/models/wavenetva/WaveNetVA_WaveNet2-ts7.json"
INPUT="$SRC/../shared/models/wavenetva/golden/input_8192.npy"
started=$(date +%s)
say() { echo "arm64-proof [$(( $(date +%s) - started ))s]: $*"; }

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "needs ../shared (the reference models) next to the repository" >&2; exit 1; }

say "host packages: debootstrap qemu-user-static binfmt-support"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap qemu-user-static binfmt-support >/dev/null
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
    say "debootstrap bookworm arm64 into $ROOTFS"
    mkdir -p "$WORK"
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$ROOTFS" http://deb.debian.org/debian >"$WORK/debootstrap.log"
fi
say "arm64 userland: $(chroot "$ROOTFS" uname -m), $(chroot "$ROOTFS" python3 --version)"

rm -rf "$ROOTFS/root/ampemu" && mkdir -p "$ROOTFS/root/ampemu"
(cd "$SRC" && git ls-files -z | xargs -0 cp --parents -t "$ROOTFS/root/ampemu")
cp "$MODEL" "$ROOTFS/root/model.json"
"$SRC/.venv/bin/python" -c "import numpy as np, soundfile as sf; sf.write('$ROOTFS/root/in.wav', np.load('$INPUT'), 44100, subtype='FLOAT')"
mount --bind /dev "$ROOTFS/dev"; mount -t proc proc "$ROOTFS/proc"
trap 'umount "$ROOTFS/proc" "$ROOTFS/dev" 2>/dev/null || true' EXIT
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
# the host's CA bundle, so pip inside trusts whatever the host trusts (e.g. a proxy's own CA)
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"

say "running pi/install.sh inside the arm64 root"
chroot "$ROOTFS" env -u PIP_FIND_LINKS -u PIP_CONSTRAINT bash /root/ampemu/pi/install.sh
say "install done; rendering on arm64 with the installed ampemu"
chroot "$ROOTFS" env AMPEMU_NUMBA_CACHE=/var/cache/ampemu/numba \
    /opt/ampemu/venv/bin/ampemu process --model /root/model.json /root/in.wav /root/out-arm64.wav
say "rendering on x86 and comparing"
"$SRC/.venv/bin/ampemu" process --model "$MODEL" "$ROOTFS/root/in.wav" "$WORK/out-x86.wav"
"$SRC/.venv/bin/python" - "$ROOTFS/root/out-arm64.wav" "$WORK/out-x86.wav" "$INPUT" <<'PY'
import sys, numpy as np, soundfile as sf
arm, x86 = sf.read(sys.argv[1], dtype="float32")[0], sf.read(sys.argv[2], dtype="float32")[0]
golden = np.load(sys.argv[3].replace("input_8192", "WaveNetVA_WaveNet2-ts7.out_8192"))
diff = float(np.max(np.abs(arm - x86)))
print(f"arm64 vs x86 max abs diff {diff:.3g}; arm64 vs WaveNetVA C++ golden {np.max(np.abs(arm - golden)):.3g}")
sys.exit(0 if diff <= 5e-5 else 1)
PY
say "passed"
