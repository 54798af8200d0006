#!/bin/sh
# First start: PGDATA from the cluster initialised at build time ($PG_TEMPLATE), given the
# deployment's role, password and database; every start: exec postgres. The same contract as the
# official image: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB take effect on first start.
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
export POSTGRES_USER POSTGRES_PASSWORD
pending="$PGDATA/.first-start-pending"

if [ -e "$pending" ]; then
    # A first start cut short (killed, or a step failed): what it left is its own and
    # incomplete, so it starts over rather than serve a cluster without the role or database.
    find "$PGDATA" -mindepth 1 -delete
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -n "$(ls -A "$PGDATA")" ]; then
        echo "db-entrypoint: $PGDATA is not empty and holds no cluster: refusing to use it" >&2
        exit 1
    fi
    touch "$pending"
    cp -a "$PG_TEMPLATE/." "$PGDATA/"
    # A private, socket-only server for the set-up, so nobody connects half-way through.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    # psql reads the role and password from the environment (never a command line `ps` shows)
    # and quotes them itself (:'pw' a literal, :"user" an identifier).
    if [ "$POSTGRES_USER" = postgres ]; then
        role="ALTER ROLE postgres PASSWORD :'pw';"
    else
        role="CREATE ROLE :\"user\" SUPERUSER LOGIN PASSWORD :'pw';"
    fi
    printf '%s\n' '\getenv user POSTGRES_USER' '\getenv pw POSTGRES_PASSWORD' "$role" |
        psql -q -v ON_ERROR_STOP=1 -U postgres -d postgres >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        createdb --username=postgres --owner="$POSTGRES_USER" "$POSTGRES_DB"
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    rm "$pending"
    echo "db-entrypoint: initialised $PGDATA for database $POSTGRES_DB"
fi
exec "$@"
