"""``python -m actlab`` runs the ``actlab`` command (see :mod:`actlab.cli`)."""

import sys

from actlab.cli import main

sys.exit(main())
