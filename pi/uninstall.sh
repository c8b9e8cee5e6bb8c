#!/usr/bin/env bash
# Remove what pi/install.sh added. Keeps your configuration in /etc/ampemu (bank, JACK settings).
# AMPEMU_ROOT works as in install.sh.
set -euo pipefail

ROOT="${AMPEMU_ROOT:-}"
run() {
    if [ -n "$ROOT" ]; then echo "would run: $*"; else "$@"; fi
}
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    echo "ampemu uninstall: run as root (sudo bash pi/uninstall.sh)" >&2
    exit 1
fi

units=(ampemu.service ampemu-jack.service ampemu-governor.service)
run systemctl disable --now "${units[@]}" || true
for unit in "${units[@]}"; do rm -f "$ROOT/etc/systemd/system/$unit"; done
run systemctl daemon-reload
rm -f "$ROOT/etc/security/limits.d/95-ampemu.conf" "$ROOT/etc/ampemu/web-token"
rm -rf "$ROOT/opt/ampemu" "$ROOT/var/cache/ampemu" "$ROOT/var/lib/ampemu"
if [ -n "$ROOT" ] || id ampemu >/dev/null 2>&1; then
    run userdel ampemu
fi
echo "ampemu uninstall: done; your settings are still in /etc/ampemu (delete them by hand if you wish)"
