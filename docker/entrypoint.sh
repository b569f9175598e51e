#!/bin/sh
# Entry point of every container role (app, workers, migrate, rq-dashboard): refuse to start
# with a missing, too short or public development secret key, with a message saying what to
# set, before the role's own command runs. (The app and the workers check again themselves.)
set -e
python -c "from engage_reflex.settings import exit_if_unsafe_secret; exit_if_unsafe_secret()"
exec "$@"
