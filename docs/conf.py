"""Sphinx configuration for the liqframe docs (built with -W: every warning is an error)."""

project = "liqframe"
author = "liqframe developers"
copyright = "2026, liqframe developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
html_static_path = []
exclude_patterns = ["_build"]
