#!/bin/sh
# The container image's install steps, kept out of the Dockerfile so that a test can run them in a clean
# venv (there is no Docker engine on the development machines): tests/ops/test_wheel_install.py.
#
#   install.sh [--user NAME] [--prefix DIR] WHEEL_DIR
#
# Makes a venv in DIR (default /opt/hub), installs the dossier-hub wheel found in WHEEL_DIR with the
# postgres extra (dependencies from the package index), and puts hub-healthcheck next to `hub`. With
# --user it also creates that system user and its home, /var/lib/hub, the image's working directory
# (the default SQLite ledger and hub-demo.sqlite3 land there); the test leaves it out.
set -eu

prefix=/opt/hub
user=
while [ $# -gt 1 ]; do
  case "$1" in
    --user) user=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  echo "usage: install.sh [--user NAME] [--prefix DIR] WHEEL_DIR" >&2
  exit 2
fi
wheels=$1
here=$(cd "$(dirname "$0")" && pwd)

set -- "$wheels"/dossier_hub-*.whl
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "install.sh: expected exactly one dossier_hub-*.whl in $wheels" >&2
  exit 1
fi
wheel=$1

python3 -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --upgrade pip
"$prefix/bin/python" -m pip install --quiet "$wheel[postgres]"
install -m 0755 "$here/healthcheck.py" "$prefix/bin/hub-healthcheck"
# The shebang names the venv's python, so the check runs without PATH or an activated venv.
sed -i "1s|.*|#!$prefix/bin/python|" "$prefix/bin/hub-healthcheck"

if [ -n "$user" ]; then
  # A system user without a login shell, its home the working directory; no fixed uid is needed by
  # anything the hub writes (volumes mounted there are chowned by the operator).
  useradd --system --user-group --home-dir /var/lib/hub --create-home --shell /usr/sbin/nologin "$user"
fi
