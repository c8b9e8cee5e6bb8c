"""`ampemu doctor` against fake system trees: each problem is found and comes with its fix."""

import os
import resource
import stat

from engine.commands.doctor import FAIL, INFO, OK, WARN, System, run_checks

GOOD_LIMITS = {"rtprio": 95, "memlock": resource.RLIM_INFINITY}


PLAYING = ("/usr/bin/python3", "/usr/local/bin/ampemu", "run", "--presets", "bank.toml")


def fake_system(tmp_path, governors=("performance",) * 4, cards="0 [CODEC ]: USB-Audio - USB Audio CODEC",
                limits=GOOD_LIMITS, jack=(48000, 64), vcgencmd=None, gpio=True, playing_kb=150_000):
    (tmp_path / "proc").mkdir(parents=True)
    (tmp_path / "proc/meminfo").write_text("MemTotal:        2000000 kB\nMemFree:          900000 kB\n")
    for pid, argv, rss_kb in ((4242, PLAYING, playing_kb), (77, ("bash",), 5000)):
        if rss_kb is None:
            continue
        (tmp_path / f"proc/{pid}").mkdir()
        (tmp_path / f"proc/{pid}/cmdline").write_bytes("\0".join(argv).encode() + b"\0")
        (tmp_path / f"proc/{pid}/status").write_text(f"Name:\tx\nVmHWM:\t{rss_kb + 1024} kB\nVmRSS:\t{rss_kb} kB\n"
                                                    "VmLck:\t   12288 kB\n")
    for i, gov in enumerate(governors):
        f = tmp_path / f"sys/devices/system/cpu/cpu{i}/cpufreq/scaling_governor"
        f.parent.mkdir(parents=True)
        f.write_text(gov + "\n")
    if cards is not None:
        (tmp_path / "proc/asound").mkdir()
        (tmp_path / "proc/asound/cards").write_text(f" {cards}\n                      USB Audio CODEC at usb-1\n")
    if gpio:
        (tmp_path / "dev").mkdir()
        chip = tmp_path / "dev/gpiochip4"
        chip.write_text("")
        chip.chmod(stat.S_IRUSR | stat.S_IWUSR)

    def ask_jack():
        if jack is None:
            raise OSError("Cannot connect to server")
        return jack

    class Fake(System):
        def command(self, *argv):
            return (vcgencmd or {}).get(argv[1]) if argv[0] == "vcgencmd" else None

    return Fake(root=tmp_path, jack_status=ask_jack, limits=dict(limits))


def verdicts(findings):
    return {f.check: f.verdict for f in findings}


def test_a_ready_pi(tmp_path):
    system = fake_system(tmp_path, vcgencmd={"get_throttled": "throttled=0x0\n", "measure_temp": "temp=48.3'C\n"})
    found = run_checks(system, [("Clean", 48000)])
    assert set(verdicts(found).values()) == {OK}
    assert any("48000 Hz, 64 frames" in f.detail for f in found)


def test_every_problem_has_its_fix(tmp_path):
    system = fake_system(tmp_path, governors=("ondemand", "performance"), cards=None, jack=(44100, 1024),
                         limits={"rtprio": 0, "memlock": 65536},
                         vcgencmd={"get_throttled": "throttled=0x50005\n", "measure_temp": "temp=81.0'C\n"})
    found = run_checks(system, [("Plexi", 48000)])
    v = verdicts(found)
    assert v["CPU governor"] == WARN and v["real-time priority"] == FAIL and v["locked memory"] == WARN
    assert v["JACK server"] == WARN and v["sample rates"] == WARN and v["audio interfaces"] == FAIL
    assert v["power"] == FAIL and v["temperature"] == WARN
    power = next(f for f in found if f.check == "power")
    assert "under-voltage now" in power.detail and "throttling has occurred" in power.detail
    rates = next(f for f in found if f.check == "sample rates")
    assert "Plexi is a 48000 Hz capture but JACK runs at 44100 Hz: it plays resampled" in rates.detail
    assert "JACK_RATE=48000" in rates.fix
    assert all(f.fix for f in found if f.verdict in (WARN, FAIL))


def test_the_memory_a_playing_engine_holds(tmp_path):
    found = next(f for f in run_checks(fake_system(tmp_path), []) if f.check == "memory")
    assert found.verdict == OK
    assert found.detail == "ampemu run (pid 4242): 146 MB resident (peak 147 MB), 12 MB locked of 1953 MB"
    hungry = next(f for f in run_checks(fake_system(tmp_path / "hungry", playing_kb=1_500_000), [])
                  if f.check == "memory")
    assert hungry.verdict == WARN and "play fewer presets" in hungry.fix


def test_no_jack_no_pi(tmp_path):
    system = fake_system(tmp_path, governors=(), jack=None, gpio=False, playing_kb=None)
    found = run_checks(system, [("Clean", 48000)])
    v = verdicts(found)
    assert v["JACK server"] == FAIL and "sample rates" not in v
    assert v["CPU governor"] == INFO and v["GPIO"] == INFO and v["power and temperature"] == INFO
    assert v["memory"] == INFO
    assert "systemctl start ampemu-jack" in next(f.fix for f in found if f.check == "JACK server")


def test_web_link_prints_the_token_or_says_why_not(tmp_path):
    from engine.commands.doctor import web_link
    from engine.web.token import load_or_create_token

    path = tmp_path / "web-token"
    assert "no token yet" in web_link(path, "pedal")
    token = load_or_create_token(path)
    assert f"http://pedal.local:8080/?token={token}" in web_link(path, "pedal")
    path.chmod(0)
    if not os.access(path, os.R_OK):  # root reads anything
        assert "sudo ampemu doctor" in web_link(path, "pedal")
