# Sourced by run.sh and test.sh: find Python >= 3.11, make .venv, install what pyproject.toml
# asks for (again only when pyproject.toml changed). $1 = extra to install ("" or "dev").
set -euo pipefail
extra="${1:-}"
find_python() {
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is needed (python3 --version says: $(python3 --version 2>&1))." >&2
  return 1
}
if [ ! -x .venv/bin/python ]; then
  py=$(find_python)
  echo "Creating .venv with $py ..."
  "$py" -m venv .venv || { echo "Could not create a virtualenv: on Debian/Ubuntu install python3-venv." >&2; exit 1; }
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=".venv/.installed-${extra:-base}"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing dependencies${extra:+ ($extra)} ..."
  python -m pip install --quiet --upgrade pip
  if [ -n "$extra" ]; then python -m pip install --quiet -e ".[$extra]"; else python -m pip install --quiet -e .; fi
  echo "$want" > "$stamp"
fi
