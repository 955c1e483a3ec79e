"""`python -m tests.migrate.next_release ARGS`: the stackshift command line of a later release,
one whose revisions (in $STACKSHIFT_TEST_REVISIONS) follow this release's head."""

from __future__ import annotations

import os
import sys

from migrate import revisions

if __name__ == "__main__":
    revisions.EXTRA_LOCATIONS.append(os.environ["STACKSHIFT_TEST_REVISIONS"])
    from compat_api.cli import main

    sys.exit(main(sys.argv[1:]))
