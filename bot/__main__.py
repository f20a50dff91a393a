"""`python -m bot`: the command line lives at the edge, in `handlers.cli`."""

import sys

from handlers.cli import main

sys.exit(main())
