#!/usr/bin/env bash
# Until casework's first release, the initial migration is regenerated from the models
# whenever they change (no deployed database exists yet). After release: new revisions only.
# The later revisions (0002 on: triggers and other hand-written steps) are kept as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
for later in migrations/versions/0*.py; do
  case "$later" in */0001_*) ;; *) mv "$later" "$tmp/" ;; esac
done
rm -f migrations/versions/0001_initial_schema.py
CASEWORK_DATABASE_URL="sqlite:///$tmp/gen.sqlite3" .venv/bin/alembic -c alembic.ini revision --autogenerate \
  -m "initial schema" --rev-id 0001 >/dev/null
mv migrations/versions/*_0001_initial_schema.py migrations/versions/0001_initial_schema.py
sed -i 's/^Revises: $/Revises:/' migrations/versions/0001_initial_schema.py
mv "$tmp"/0*.py migrations/versions/
.venv/bin/ruff format -q migrations/versions/0001_initial_schema.py 2>/dev/null || true
echo "regenerated migrations/versions/0001_initial_schema.py"
