#!/usr/bin/env bash
# Start PostgreSQL 16 with pgvector on localhost:8888, user/password/database "memgpt", so that
#   MEMGPT_PGURI=postgresql+pg8000://memgpt:memgpt@localhost:8888/memgpt
# works. With Docker (a daemon that answers), it runs the pgvector/pgvector:pg16 image; without
# Docker, the same server from the pgserver wheel (PostgreSQL 16 + pgvector), data in
# $MEMGPT_HOME/pgdata (default ~/.memgpt/pgdata).
#
#   bash db/run_postgres.sh            # start (again: reuses the container or the data folder)
#   bash db/run_postgres.sh stop       # stop
# Environment: MEMGPT_PG_PORT (default 8888), MEMGPT_PG_PASSWORD (default memgpt), PYTHON (default python3),
# MEMGPT_PG_NO_DOCKER=1. The password never goes on a command line (where `ps` shows it) nor into a file
# others can read: Docker and the dev server take it from the environment.
set -euo pipefail

PORT="${MEMGPT_PG_PORT:-8888}"
ACTION="${1:-start}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${MEMGPT_HOME:-$HOME/.memgpt}/pgdata"
CONTAINER=memgpt-db

if [ -z "${MEMGPT_PG_NO_DOCKER:-}" ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  if [ "$ACTION" = stop ]; then
    docker stop "$CONTAINER"
    exit 0
  fi
  if docker container inspect "$CONTAINER" >/dev/null 2>&1; then
    docker start "$CONTAINER" >/dev/null
  else
    # "-e NAME" without a value: docker takes it from this environment, not from its command line.
    POSTGRES_PASSWORD="${MEMGPT_PG_PASSWORD:-memgpt}" docker run -d --name "$CONTAINER" -p "127.0.0.1:${PORT}:5432" \
      -e POSTGRES_USER=memgpt -e POSTGRES_PASSWORD -e POSTGRES_DB=memgpt \
      -v memgpt-pgdata:/var/lib/postgresql/data pgvector/pgvector:pg16 >/dev/null
  fi
  echo "PostgreSQL 16 + pgvector (Docker container $CONTAINER) on localhost:${PORT}"
  echo "MEMGPT_PGURI=postgresql+pg8000://memgpt:****@localhost:${PORT}/memgpt"
  exit 0
fi

# No Docker: the pgserver wheel's PostgreSQL, through memgpt-backend-postgres's dev server.
if ! "$PYTHON" -c "import memgpt_backend_postgres.devserver, pgserver" >/dev/null 2>&1; then
  echo "Installing memgpt-backend-postgres with its [server] extra (pgserver: PostgreSQL 16 + pgvector)..." >&2
  if [ -d "$HERE/memgpt-backend-postgres" ]; then
    "$PYTHON" -m pip install --quiet "$HERE/memgpt-core" "$HERE/memgpt-backend-postgres[server]"
  else
    "$PYTHON" -m pip install --quiet "memgpt-backend-postgres[server]"
  fi
fi
exec "$PYTHON" -m memgpt_backend_postgres.devserver "$ACTION" --port "$PORT" --data-dir "$DATA"
