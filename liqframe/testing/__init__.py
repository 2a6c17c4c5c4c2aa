"""Helpers for testing liqframe and its plugins.

The pytest fixtures in :mod:`liqframe.testing.pytest_plugin` load automatically in any test
session once liqframe is installed (``pytest11`` entry point).
"""
