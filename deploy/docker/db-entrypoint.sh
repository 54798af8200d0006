#!/bin/sh
# First start: PGDATA from the cluster initialised at build time ($PG_TEMPLATE), given the
# deployment's role, password and database; every start: exec postgres. The same contract as the
# official image: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB take effect on first start.
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    cp -a "$PG_TEMPLATE/." "$PGDATA/"
    # A private, socket-only server for the set-up, so nobody connects half-way through.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    # psql quotes the values itself (:'pw' a literal, :"user" an identifier).
    if [ "$POSTGRES_USER" = postgres ]; then
        role="ALTER ROLE postgres PASSWORD :'pw';"
    else
        role="CREATE ROLE :\"user\" SUPERUSER LOGIN PASSWORD :'pw';"
    fi
    printf '%s\n' "$role" | psql -q -v ON_ERROR_STOP=1 -U postgres -d postgres \
        -v user="$POSTGRES_USER" -v pw="$POSTGRES_PASSWORD" >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        createdb --username=postgres --owner="$POSTGRES_USER" "$POSTGRES_DB"
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "db-entrypoint: initialised $PGDATA for database $POSTGRES_DB"
fi
exec "$@"
