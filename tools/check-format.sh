#!/usr/bin/env bash
# tools/check-format.sh - fails if any tracked (or new) C file differs from clang-format's output.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$( (git ls-files '*.c' '*.h'; git ls-files --others --exclude-standard '*.c' '*.h') | sort -u)
bad=0
for f in $files; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: make format)"
    bad=$((bad + 1))
  fi
done
n=$(echo "$files" | grep -c . || true)
if [ "$bad" -gt 0 ]; then
  echo "check-format: $bad of $n files need clang-format"
  exit 1
fi
echo "check-format: $n files formatted"
