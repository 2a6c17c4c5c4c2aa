import sys

from liqframe.cli import main

sys.exit(main())
