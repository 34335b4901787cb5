"""`python -m desktop [--db FILE]` starts the desktop program."""

import sys

from desktop.app import main

sys.exit(main())
