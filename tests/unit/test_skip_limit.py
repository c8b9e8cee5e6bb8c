"""tests/conftest.py's --max-skipped: a run that skips more than the limit fails (scripts/test.sh
passes 0.10, so CI fails when a machine quietly tests less)."""

from support.data import REPO

pytest_plugins = ["pytester"]


def test_more_skipped_than_the_limit_fails_the_run(pytester):
    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text())
    pytester.makepyfile("import pytest\n\ndef test_a():\n    pass\n\ndef test_b():\n    pytest.skip('no data')\n")
    failed = pytester.runpytest("--max-skipped", "0.10")
    assert failed.ret == 1
    failed.stdout.fnmatch_lines(["*1 of 2 tests skipped, more than 10%*"])
    assert pytester.runpytest("--max-skipped", "0.5").ret == 0
    assert pytester.runpytest().ret == 0  # a targeted run without the option is never failed for skips
