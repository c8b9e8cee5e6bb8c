"""Measurement and development tools around the engine; nothing here runs while a pedal plays.

- benchmarking.py: timing loops, backends and the report of `ampemu bench`; bench_models.py: what it
  measures (model files, built-in architectures with random weights); pi5_estimate.py: a Pi 5
  estimate scaled from an x86 run;
- latency.py: the round trip through JACK (`ampemu latency`);
- reference.py: the gated WaveNet in plain numpy, the yardstick the kernel is tested against;
- dummy_server.py: a private dummy jackd for tests and benchmarks;
- commands/: the `bench` and `latency` subcommands (engine/cli.py names them; imported on use).

The rule: this package imports `engine`, never the reverse (tests/unit/test_layers.py checks it), so
the Pi runtime never carries its benchmarks. Rows that need torch live in training/bench_backends.py.
"""
