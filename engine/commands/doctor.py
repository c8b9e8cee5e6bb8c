"""`ampemu doctor`: is this machine ready to play? Each check prints its verdict and, when not OK, the fix.

Every check reads the system through a `System` object whose root and command runner tests replace,
so the checks run the same on a Pi, on CI, and against a fake /sys tree.
"""

from __future__ import annotations

import glob
import os
import resource
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import AmpemuError
from engine.realtime.memory import MemoryUse, memory_use
from engine.web.address import WEB_PORT
from engine.web.token import read_token, token_path

OK, WARN, FAIL, INFO = "OK", "WARN", "FAIL", "INFO"
RT_PRIORITY_NEEDED = 80
MEMLOCK_NEEDED = 256 * 1024 * 1024
MEMORY_SHARE = 0.5  # a playing engine holding more of the machine's RAM than this leaves too little for the rest


@dataclass
class Finding:
    verdict: str
    check: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"[{self.verdict:^4}] {self.check}: {self.detail}"
        return f"{text}\n       fix: {self.fix}" if self.fix and self.verdict in (WARN, FAIL) else text


@dataclass
class System:
    """Where the checks look; tests point `root` at a fake tree and replace `command`/`limits`."""

    root: Path = Path("/")
    jack_status: object = None  # callable -> (rate, period) or raises; default asks the JACK server
    limits: dict = field(default_factory=lambda: {
        "rtprio": resource.getrlimit(resource.RLIMIT_RTPRIO)[0],
        "memlock": resource.getrlimit(resource.RLIMIT_MEMLOCK)[0],
    })

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def glob(self, pattern: str) -> list[Path]:
        return sorted(Path(p) for p in glob.glob(str(self.path(pattern))))

    def command(self, *argv: str) -> str | None:
        """stdout of a command, or None when it is not installed or fails."""
        if shutil.which(argv[0]) is None:
            return None
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None


def check_governor(system: System) -> Finding:
    files = system.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor")
    if not files:
        return Finding(INFO, "CPU governor", "no cpufreq interface (a VM or container?)")
    governors = {f.read_text().strip() for f in files}
    if governors == {"performance"}:
        return Finding(OK, "CPU governor", f"performance on {len(files)} cores")
    return Finding(WARN, "CPU governor", f"{', '.join(sorted(governors))}: clock ramps cause xruns at small periods",
                   "sudo systemctl enable --now ampemu-governor.service")


def check_realtime_limits(system: System) -> list[Finding]:
    rtprio, memlock = system.limits["rtprio"], system.limits["memlock"]
    fix = "add the user to the 'audio' group (sudo usermod -aG audio $USER), install pi/limits-ampemu.conf, log in again"
    found = []
    if rtprio >= RT_PRIORITY_NEEDED:
        found.append(Finding(OK, "real-time priority", f"allowed up to {rtprio}"))
    else:
        found.append(Finding(FAIL, "real-time priority", f"limit {rtprio} (JACK needs {RT_PRIORITY_NEEDED}+)", fix))
    if memlock == resource.RLIM_INFINITY or memlock >= MEMLOCK_NEEDED:
        shown = "unlimited" if memlock == resource.RLIM_INFINITY else f"{memlock // 2**20} MiB"
        found.append(Finding(OK, "locked memory", shown))
    else:
        found.append(Finding(WARN, "locked memory", f"{memlock // 1024} KiB (page faults can cause xruns)", fix))
    return found


def _ask_jack() -> tuple[int, int]:
    from engine.realtime.jack_host import server_settings  # JACK-Client is the pi extra: imported on use

    return server_settings("ampemu-doctor")


def check_jack(system: System) -> tuple[Finding, int | None]:
    ask = system.jack_status or _ask_jack
    try:
        rate, period = ask()
    except Exception as exc:  # JACK-Client raises JackOpenError, or jack is not installed
        return Finding(FAIL, "JACK server", f"not reachable ({exc.__class__.__name__})",
                       "sudo systemctl start ampemu-jack (settings in /etc/ampemu/jack.conf)"), None
    detail = f"running at {rate} Hz, {period} frames per period ({1000 * period / rate:.2f} ms)"
    if period > 256:
        return Finding(WARN, "JACK server", detail + ": a large period adds latency you will feel",
                       "set JACK_PERIOD=64 or 128 in /etc/ampemu/jack.conf"), rate
    return Finding(OK, "JACK server", detail), rate


def check_bank_rates(models: list[tuple[str, int]], rate: int | None) -> list[Finding]:
    if rate is None:
        return []
    wrong = [(name, r) for name, r in models if r != rate]
    if not wrong:
        return [Finding(OK, "sample rates", f"every model of the bank is captured at {rate} Hz")] if models else []
    # it plays through the resampler (docs/chain.md#rates): a little latency and CPU, not a failure
    return [Finding(WARN, "sample rates", f"{name} is a {r} Hz capture but JACK runs at {rate} Hz: it plays "
                    f"resampled (about 1.2 ms more latency)",
                    f"set JACK_RATE={r} in /etc/ampemu/jack.conf, or use a capture made at {rate} Hz")
            for name, r in wrong]


THROTTLE_BITS = {0: "under-voltage now", 1: "ARM frequency capped now", 2: "throttled now",
                 3: "soft temperature limit now", 16: "under-voltage has occurred", 18: "throttling has occurred"}


def check_power_and_heat(system: System) -> list[Finding]:
    throttled = system.command("vcgencmd", "get_throttled")
    if throttled is None:
        return [Finding(INFO, "power and temperature", "vcgencmd not available (not a Raspberry Pi?)")]
    found = []
    value = int(throttled.strip().split("=")[-1], 16)
    problems = [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]
    if problems:
        found.append(Finding(FAIL if value & 0b111 else WARN, "power", ", ".join(problems),
                             "use the official 27 W USB-C supply and a cooler (Active Cooler)"))
    else:
        found.append(Finding(OK, "power", "no under-voltage or throttling"))
    temp = system.command("vcgencmd", "measure_temp")
    if temp:
        celsius = float(temp.strip().split("=")[-1].rstrip("'C"))
        verdict = WARN if celsius >= 75 else OK
        found.append(Finding(verdict, "temperature", f"{celsius:.1f} C", "add a cooler; the Pi 5 throttles at 85 C"))
    return found


def check_audio_interfaces(system: System) -> Finding:
    cards = system.path("/proc/asound/cards")
    lines = cards.read_text().splitlines() if cards.exists() else []
    names = [line.split("]:", 1)[1].strip() for line in lines if "]:" in line]
    if not names:
        return Finding(FAIL, "audio interfaces", "no sound card found",
                       "plug in the USB interface or enable the HAT's overlay in /boot/firmware/config.txt")
    return Finding(OK, "audio interfaces", "; ".join(names))


def check_gpio(system: System) -> Finding:
    chips = system.glob("/dev/gpiochip*")
    if not chips:
        return Finding(INFO, "GPIO", "no /dev/gpiochip* (footswitches need a Raspberry Pi)")
    usable = [c for c in chips if os.access(c, os.R_OK | os.W_OK)]
    if usable:
        return Finding(OK, "GPIO", f"{len(usable)} chip(s) usable for footswitches")
    return Finding(WARN, "GPIO", "gpio chips exist but this user cannot open them",
                   "sudo usermod -aG gpio $USER, then log in again")


def _playing(system: System) -> list[tuple[int, MemoryUse]]:
    """(pid, memory) of every `ampemu run` on this machine (by its command line in /proc)."""
    found = []
    for cmdline in system.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
            use = memory_use((cmdline.parent / "status").read_text())
        except OSError:  # gone meanwhile, or not ours to read
            continue
        starts = [i for i, arg in enumerate(argv) if Path(arg).name == "ampemu" or arg == "engine.cli"]
        if starts and "run" in argv[starts[0] + 1:starts[0] + 2] and use is not None:
            found.append((int(cmdline.parent.name), use))
    return found


def check_memory(system: System) -> Finding:
    """What a playing `ampemu run` holds in RAM and has locked, against the machine's memory."""
    total_mb = None
    try:
        for line in system.path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_mb = int(line.split()[1]) / 1024
    except OSError:
        pass
    of_total = f" of {total_mb:.0f} MB" if total_mb else ""
    playing = _playing(system)
    if not playing:
        here = f" ({total_mb:.0f} MB in this machine)" if total_mb else ""
        return Finding(INFO, "memory", f"no `ampemu run` is playing now{here}; run doctor while it plays to see "
                                       "what it holds")
    lines = "; ".join(f"ampemu run (pid {pid}): {use.line()}" for pid, use in playing)
    if total_mb and max(use.rss_mb for _, use in playing) > MEMORY_SHARE * total_mb:
        return Finding(WARN, "memory", f"{lines}{of_total}", "play fewer presets or smaller models, or close other "
                                                              "programs (the kernel may start swapping)")
    return Finding(OK, "memory", f"{lines}{of_total}")


def run_checks(system: System, models: list[tuple[str, int]]) -> list[Finding]:
    jack_finding, rate = check_jack(system)
    return [check_governor(system), *check_realtime_limits(system), jack_finding,
            *check_bank_rates(models, rate), *check_power_and_heat(system), check_audio_interfaces(system),
            check_gpio(system), check_memory(system)]


def web_link(path: Path, hostname: str, port: int = WEB_PORT) -> str:
    """The phone page's address with the device's token (`ampemu run --web`), or why there is none."""
    try:
        token = read_token(path)
    except FileNotFoundError:
        return f"[INFO] web page: no token yet ({path}); `ampemu run --web PORT` makes one"
    except (OSError, UnicodeDecodeError, AmpemuError) as exc:
        return f"[INFO] web page: cannot read the token {path} ({exc.__class__.__name__}); try sudo ampemu doctor"
    return (f"[INFO] web page: http://{hostname}.local:{port}/?token={token}  (keep it private; the port is "
            f"ampemu run's --web, {port} on the Pi)")


def add_arguments(p) -> None:
    p.add_argument("--presets", default=None, help="preset bank whose models' sample rates are checked")


def bank_models(path) -> tuple[list[tuple[str, int]], list[Finding]]:
    """(name, rate) of each preset whose model loads, and a FAIL finding for each that does not
    (`run` plays the bank without it)."""
    if path is None:
        return [], []
    from engine.chain.ir import read_ir
    from engine.errors import AmpemuError
    from engine.models import load_model
    from engine.presets.bank import load_bank

    models, broken = [], []
    for preset in load_bank(path).presets:
        try:
            rate = load_model(preset.model).sample_rate
            if preset.chain.ir is not None:  # an unreadable IR skips the preset as a bad model does
                read_ir(preset.chain.ir)
            models.append((preset.name, rate))
        except AmpemuError as exc:
            broken.append(Finding(FAIL, f"preset '{preset.name}'", f"skipped when playing: {exc}",
                                  "fix or replace its model or IR file (ampemu presets check lists every problem)"))
    return models, broken


def run(args) -> int:
    models, broken = bank_models(args.presets)
    findings = run_checks(System(), models) + broken
    for finding in findings:
        print(finding.line())
    print(web_link(token_path(), socket.gethostname()))
    failed = sum(f.verdict == FAIL for f in findings)
    print(f"{failed} problem(s) to fix" if failed else "ready to play")
    return 1 if failed else 0
