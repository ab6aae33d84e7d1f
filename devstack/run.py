"""`make run`: infrastructure, migrations, then every service, worker and the sandbox."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from devstack.infra import infrastructure
from devstack.migrate import migrate_all
from devstack.processes import Ports, all_processes, service_env
from devstack.supervisor import Supervisor


def main() -> int:
    # Until the supervisor installs its handlers, Ctrl-C must still tear the infrastructure down.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with infrastructure() as infra:
            env = {
                **os.environ,
                "DATABASE_URL": infra.database_url,
                "REDIS_URL": infra.redis_url,
                "PYTHONUNBUFFERED": "1",
            }
            os.environ.update(env)
            migrate_all(infra.database_url)
            ports = Ports()
            env.update(service_env(ports))
            specs = all_processes(ports)
            print(
                "[run] starting: "
                + ", ".join(f"{s.name}" + (f" ({s.health_url})" if s.health_url else "") for s in specs),
                flush=True,
            )
            print(f"[run] API docs: http://127.0.0.1:{ports.allocation}/docs, :{ports.shipping}/docs, "
                  f":{ports.tracking}/docs; Ctrl-C stops everything", flush=True)  # fmt: skip
            print(f"[run] metrics: every service's /metrics; workers on :{ports.allocation_worker_metrics}, "
                  f":{ports.shipping_worker_metrics}, :{ports.tracking_worker_metrics}", flush=True)  # fmt: skip
            return asyncio.run(Supervisor(specs, env).run())
    except KeyboardInterrupt:
        print("[run] interrupted", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
