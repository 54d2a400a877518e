from mcd.main import main

main()
