"""pytest wiring: `--max-skipped FRACTION` fails the run when more of the collected tests skip than
that (scripts/test.sh passes 0.10, so CI fails when a machine quietly tests less). The helpers live
in tests/support/."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--max-skipped", type=float, default=None, metavar="FRACTION",
                     help="fail when more than FRACTION of the tests that ran were skipped")


def pytest_sessionfinish(session, exitstatus):
    limit = session.config.getoption("--max-skipped")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if limit is None or reporter is None or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    counts = {key: len([r for r in reporter.stats.get(key, []) if getattr(r, "when", "call") in ("call", "setup")])
              for key in ("passed", "failed", "skipped", "error")}
    total = sum(counts.values())
    if total and counts["skipped"] / total > limit:
        reporter.write_line(f"{counts['skipped']} of {total} tests skipped, more than {limit:.0%}: "
                            "the skip reasons above say what this machine lacks", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
