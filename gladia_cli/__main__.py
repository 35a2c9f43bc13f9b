from gladia_cli.cli.app import main

if __name__ == "__main__":  # spawned recognizer processes import this module too
    main()
