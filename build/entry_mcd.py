"""Entry point of the standalone ``mcd`` binary."""

from mcd.main import main

main()
