"""One module per study. Each adds its subcommand here."""


def register_commands(subparsers, add_common) -> None:
    pass
