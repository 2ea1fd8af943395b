#!/usr/bin/env bash
# Runs shellcheck over every shell script of the repository: .ci/run and whatever under images/, bench/ and
# scripts/ starts with a bash/sh shebang or a `# shellcheck shell=` line (the image scripts
# have no extension). Fails on any finding. The mysql-tools scripts find lib.sh through their
# `# shellcheck source=SCRIPTDIR/lib.sh` directives, which -x lets shellcheck follow.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v shellcheck >/dev/null || { echo 'shellcheck.sh: shellcheck is not installed (apt-get install shellcheck)' >&2; exit 2; }

scripts=(.ci/run)
while IFS= read -r -d '' file; do
  IFS= read -r first <"$file" || true
  if [[ $first =~ ^'#!'.*[/\ ](ba|da)?sh([[:space:]]|$) || $first == '# shellcheck shell='* ]]; then
    scripts+=("$file")
  fi
done < <(find images scripts bench -type f -print0 | sort -z)

echo "shellcheck: ${#scripts[@]} scripts"
shellcheck -x "${scripts[@]}"
