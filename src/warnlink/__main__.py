"""``python -m warnlink``: the same as the `warnlink` command."""

import sys

from warnlink.cli import main

sys.exit(main())
