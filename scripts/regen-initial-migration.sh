#!/usr/bin/env bash
# Until casework's first release, the initial migration is regenerated from the models
# whenever they change (no deployed database exists yet). After release: new revisions only.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
mv migrations/versions/0002_audit_append_only.py "$tmp/"
rm -f migrations/versions/0001_initial_schema.py
CASEWORK_DATABASE_URL="sqlite:///$tmp/gen.sqlite3" .venv/bin/alembic -c alembic.ini revision --autogenerate \
  -m "initial schema" --rev-id 0001 >/dev/null
mv migrations/versions/*_0001_initial_schema.py migrations/versions/0001_initial_schema.py
sed -i 's/^Revises: $/Revises:/' migrations/versions/0001_initial_schema.py
mv "$tmp/0002_audit_append_only.py" migrations/versions/
.venv/bin/ruff format -q migrations/versions/0001_initial_schema.py 2>/dev/null || true
echo "regenerated migrations/versions/0001_initial_schema.py"
