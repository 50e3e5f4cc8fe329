"""One module per `spam-blocker` subcommand, each exposing `register(subparsers)`."""


def tcp_port(value: str) -> int:
    """argparse type of a --port: 0 (any free port) to 65535; anything else is bad usage (exit 2)."""
    import argparse

    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free port), not {port}")
    return port
