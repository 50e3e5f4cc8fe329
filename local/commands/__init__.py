"""One module per `spam-blocker` subcommand, each exposing `register(subparsers)`."""
