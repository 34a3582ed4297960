"""ColorMNet Studio's library: exemplar-based video colorization with ColorMNet (Yang et al., ECCV 2024).

The entry point is :class:`colormnet.session.Session`; the command line is :mod:`colormnet.cli`.
"""

__version__ = "0.1.0"  # the one place: pyproject.toml, both --version flags and Help > About read it
