from gladia_cli.cli.app import main

main()
