#!/bin/sh
# The official redis image's contract, in short: `redis-server [options]` (or just options) runs the
# server; the stand-in adds the official image's container defaults (all addresses, protected mode off,
# data in /data) before the caller's options, so theirs win.
set -eu
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server --bind '* -::*' --protected-mode no --dir /data "$@"
fi
exec "$@"
