"""`python -m ccstats` runs the CLI."""

from ccstats.cli import app

app()
