"""Entry point of the standalone ``mc`` binary."""

from mc.cli import main

main()
