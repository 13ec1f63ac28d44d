#!/bin/sh
# The project's Python, for the stage commands of dvc.yaml: they then run the same way from
# `make repro`, from `.venv/bin/dvc repro` in a shell whose `python` is another one, and from a
# queued experiment (`dvc exp run --queue`, `dvc queue start`), which runs in a copy of the
# repository under .dvc/tmp/exps/. The copy's own src/ comes first on the path, so a stage runs
# the code of the checkout it runs in, not the one .venv was installed from.
# Order: the activated environment, a .venv here or in a folder above, the python on PATH.
here=$(pwd)
export PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}"
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  exec "$VIRTUAL_ENV/bin/python" "$@"
fi
dir=$here
while [ "$dir" != / ]; do
  if [ -x "$dir/.venv/bin/python" ]; then
    exec "$dir/.venv/bin/python" "$@"
  fi
  dir=$(dirname "$dir")
done
if command -v python >/dev/null 2>&1; then
  exec python "$@"
fi
echo "no Python environment for this project: run 'make setup' (it creates .venv)" >&2
exit 1
