from mc.cli import main

main()
