#!/usr/bin/env bash
# Writes projections/<name>/Schema.swift from projections/<name>/schema.sql, so the SQL a
# projector runs is the file's, byte for byte (ProjectionTests checks they stay equal).
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in projections/*/; do
    name=$(basename "$dir")
    sql="$dir/schema.sql"
    [ -f "$sql" ] || continue
    {
        echo "// Generated from schema.sql by scripts/embed-schema.sh; edit schema.sql and rerun it."
        echo "enum Schema {"
        echo "    /// The contents of projections/$name/schema.sql."
        echo "    static let sql = #\"\"\""
        sed 's/^/        /; s/^        $//' "$sql"
        echo "        \"\"\"#"
        echo "}"
    } > "$dir/Schema.swift"
done
