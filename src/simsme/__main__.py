"""``python -m simsme``: the same command line as the ``simsme`` script."""

from simsme.cli import entry

if __name__ == "__main__":
    entry()
