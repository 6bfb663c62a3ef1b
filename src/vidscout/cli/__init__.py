"""The `vidscout` command line (Typer + Rich)."""
