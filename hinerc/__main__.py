"""``python -m hinerc`` runs the command-line interface."""

from hinerc.cli import main

if __name__ == "__main__":
    main()
