import multiprocessing

from gan_explorer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app re-enters here for worker processes
    raise SystemExit(main())
