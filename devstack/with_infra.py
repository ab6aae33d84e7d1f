"""Run a command with DATABASE_URL and REDIS_URL pointing at the environment's servers or at
embedded ones started for the command: ``python -m devstack.with_infra -- pytest ...``."""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.infra import infrastructure


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m devstack.with_infra -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    with infrastructure() as infra:
        env = {**os.environ, "DATABASE_URL": infra.database_url, "REDIS_URL": infra.redis_url}
        try:
            return subprocess.call(argv, env=env)
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
