"""Sub-commands of `hotline`: each module defines `add_arguments(parser)` and `run(args) -> int`."""
