#!/bin/sh
# The one place that says how the image runs Prism. There is no build step yet: Node runs the
# TypeScript through tsx's loader (what `pnpm start` does, without pnpm). When the gateway gains a
# compiled build, change RUN and the two paths below, and nothing else.
#
#   prism [gateway] [--config FILE]   the gateway (PRISM_CONFIG names the config file otherwise)
#   prism healthcheck [host:port]     one gRPC health check; exit 0 when SERVING
set -eu
APP_DIR=${PRISM_APP_DIR:-/app}
cd "$APP_DIR"
RUN="node --import tsx"
GATEWAY_MAIN="$APP_DIR/src/main.ts"
HEALTHCHECK_MAIN="$APP_DIR/deploy/healthcheck.ts"

command=${1:-gateway}
[ $# -gt 0 ] && shift
case "$command" in
  gateway)
    # No embedded default in the image: that one serves SQLite demo namespaces on loopback only.
    if [ -z "${PRISM_CONFIG:-}" ] && [ "${1:-}" != "--config" ] && [ "${1:-}" != "-c" ]; then
      echo "prism: set PRISM_CONFIG (or pass --config FILE); the image ships no gateway config" >&2
      exit 2
    fi
    exec $RUN "$GATEWAY_MAIN" "$@"
    ;;
  healthcheck) exec $RUN "$HEALTHCHECK_MAIN" "$@" ;;
  -*) exec $RUN "$GATEWAY_MAIN" "$command" "$@" ;;
  *)
    echo "usage: prism [gateway] [--config FILE] | prism healthcheck [host:port]" >&2
    exit 64
    ;;
esac
