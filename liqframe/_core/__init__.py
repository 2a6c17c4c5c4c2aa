"""The hot paths of liqframe.

Each compiled module ``_name.pyx`` (with its ``_name.pxd`` contract) has a pure-Python twin
``name.py`` with the same public names and behaviour. Import through :mod:`liqframe.core`,
which picks one of the two.
"""
