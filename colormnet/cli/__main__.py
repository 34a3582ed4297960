"""``python -m colormnet.cli ARGS``: the same as the ``colormnet`` console script."""

from colormnet.cli.main import entry

if __name__ == "__main__":
    entry()
