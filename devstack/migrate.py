"""Apply every service's migrations: ``python -m devstack.migrate`` (uses DATABASE_URL), as ``make migrate`` does.

The command itself is ``python -m runtime.migrations``, which the image runs too (it has no devstack); this
module keeps the name `make migrate` and devstack.run use.
"""

from __future__ import annotations

import sys

from runtime.migrations import SERVICES, main, migrate_all

__all__ = ["SERVICES", "main", "migrate_all"]

if __name__ == "__main__":
    sys.exit(main())
