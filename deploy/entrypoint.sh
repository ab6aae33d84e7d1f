#!/bin/sh
# The image's entrypoint: one role per container. The commands are the ones devstack/processes.py
# runs for `make run`, bound to every interface instead of 127.0.0.1.
# One process per container on purpose: prometheus_client keeps metrics per process, and a
# replica count is what the autoscaler changes, not a worker count inside the pod.
set -eu

role="${1:-allocation-api}"

api() {  # module, port
    # Longer graceful shutdown than make run's 5 s: in-flight requests finish while the pod drains.
    # runtime.serve is uvicorn with a header deadline and size cap; it reads the connection cap, keep-alive
    # and header limits from the WAYBILL_ variables (runtime/uvicorn_options.py).
    run python -m runtime.serve "$1" --host 0.0.0.0 --port "$2" \
        --timeout-graceful-shutdown "${WAYBILL_GRACEFUL_SHUTDOWN_S:-20}"
}

sandbox() {
    # The sandbox imitates the partners; the production image leaves it out (deploy/Dockerfile), so the
    # role looks for it where python -m will (the working directory, the image's /app) and
    # is refused by name there rather than failing later on a missing module.
    if [ ! -f services/sandbox/main.py ]; then
        echo "waybill-role: the sandbox is not in this image: the production image leaves the partners' imitation" \
            "out. Build the sandbox target for compose or local use:" \
            "docker build -f deploy/Dockerfile --target sandbox -t waybill-sandbox:dev ." >&2
        exit 64
    fi
    api services.sandbox.main:app "${SANDBOX_PORT:-8009}"
}

run() {
    if [ "${WAYBILL_ROLE_DRY_RUN:-}" = "1" ]; then
        # Prints the command instead of running it (the deploy tests check it against the code).
        echo "$@"
        exit 0
    fi
    exec "$@"
}

case "$role" in
    allocation-api)    api services.allocation.main:app "${ALLOCATION_PORT:-8001}" ;;
    shipping-api)      api services.shipping.main:app "${SHIPPING_PORT:-8002}" ;;
    tracking-api)      api services.tracking.main:app "${TRACKING_PORT:-8003}" ;;
    dashboard)         api services.dashboard.main:app "${DASHBOARD_PORT:-8004}" ;;
    sandbox)           sandbox ;;
    allocation-worker) run python -m runtime.arq_worker services.allocation.tasks.WorkerSettings ;;
    shipping-worker)   run python -m runtime.arq_worker services.shipping.tasks.WorkerSettings ;;
    tracking-worker)   run python -m runtime.arq_worker services.tracking.tasks.WorkerSettings ;;
    migrate)           run python -m runtime.migrations ;;
    *)                 run "$@" ;;
esac
