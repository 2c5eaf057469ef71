#!/usr/bin/env bash
# Writes Sources/PurserHTTP/DashboardAssets.swift from Sources/PurserHTTP/Dashboard/{index.html,app.js,app.css},
# so `purser serve` carries the dashboard in the binary, byte for byte (PurserHTTPTests checks they
# stay equal). Rerun after editing any of the three files.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=Sources/PurserHTTP/Dashboard
out=Sources/PurserHTTP/DashboardAssets.swift
delim='##'

for f in index.html app.js app.css; do
    # The raw string ##"""…"""## ends at `"""##` and interpolates `\##(`; neither may occur, nor CR
    # (Swift normalizes line endings inside string literals).
    if grep -q -F "\"$delim" "$dir/$f" || grep -q -F "\\$delim" "$dir/$f"; then
        echo "embed-dashboard: $dir/$f contains \"$delim or \\$delim; choose a longer delimiter" >&2
        exit 1
    fi
    if grep -q $'\r' "$dir/$f"; then
        echo "embed-dashboard: $dir/$f contains a carriage return; save it with LF line endings" >&2
        exit 1
    fi
done

emit() { # name file doc
    echo "    /// $3"
    echo "    public static let $1 = $delim\"\"\""
    cat "$2"
    # A multi-line literal drops the newline before its closing delimiter: add one, so the string
    # ends exactly as the file does.
    printf '\n"""%s\n' "$delim"
}

tmp=$(mktemp)
{
    echo "// Generated from Sources/PurserHTTP/Dashboard by scripts/embed-dashboard.sh; edit those files and rerun it."
    echo "// swiftlint:disable all"
    echo ""
    echo "/// The operator dashboard served at \`/\`: plain HTML, CSS and JavaScript, no build step."
    echo "public enum DashboardAssets {"
    emit indexHTML "$dir/index.html" "The contents of Dashboard/index.html, served at \`GET /\`."
    echo ""
    emit appJS "$dir/app.js" "The contents of Dashboard/app.js, served at \`GET /app.js\`."
    echo ""
    emit appCSS "$dir/app.css" "The contents of Dashboard/app.css, served at \`GET /app.css\`."
    echo "}"
} > "$tmp"
mv "$tmp" "$out"
echo "embed-dashboard: wrote $out" >&2
