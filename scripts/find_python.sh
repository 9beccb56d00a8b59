#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 supports 3.8–3.10 only), or explains
# how to get one and fails.
set -euo pipefail
is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }
for candidate in python3.10 python3 python; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if is_310 "$path"; then echo "$path"; exit 0; fi
done
roots=()
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
for root in "${roots[@]}"; do
  for path in "$root"/versions/3.10*/bin/python; do
    if [ -x "$path" ] && is_310 "$path"; then echo "$path"; exit 0; fi
  done
done
cat >&2 <<'MSG'
No Python 3.10 found (Rasa 3.6 runs on Python 3.8–3.10 only; on 3.11 pip silently installs an
ancient Rasa). Install one, for example:
  pyenv install 3.10.13          # then run make again: pyenv's versions are searched
  sudo apt-get install python3.10 python3.10-venv
MSG
exit 1
