"""Build the Cython core. Every ``liqframe/_core/_*.pyx`` becomes an extension module.

The pure-Python twins need no build; ``LIQFRAME_NO_EXTENSIONS=1`` selects them at import time.
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

CORE = Path("liqframe/_core")
# LIQFRAME_BUILD_ONLY=_book,_matcher builds just those modules (handy while editing one).
ONLY = {name for name in os.environ.get("LIQFRAME_BUILD_ONLY", "").split(",") if name}

extensions = [
    Extension(
        f"liqframe._core.{source.stem}",
        [str(source)],
        include_dirs=[numpy.get_include(), str(CORE)],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
    for source in sorted(CORE.glob("_*.pyx"))
    if not ONLY or source.stem in ONLY
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    )
)
