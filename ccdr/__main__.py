from ccdr.cli import main

main()
