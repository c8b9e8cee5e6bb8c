"""The measuring subcommands of `ampemu` (bench, latency): each has add_arguments(parser) and run(args)."""
