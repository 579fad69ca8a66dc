#!/usr/bin/env bash
# The test command (npm test): brings up what the tests need, then runs them all.
# It installs what is missing from Debian's packages and fails loudly, naming what it could not
# provide; it never skips a test for want of a component.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

need_root_for() {
  [ "$(id -u)" = 0 ] || die "$1 is missing and installing it needs root (run: sudo apt-get install -y $2)"
}

apt_updated=0
apt_install() {
  need_root_for "$1" "$2"
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed while installing $1"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2 >/dev/null || die "could not install $1 ($2) from Debian's packages"
}

# --- Node and the project's packages -------------------------------------------------------
bash scripts/ensure-node-deps.sh || die "the npm packages could not be installed"

# --- MariaDB on 127.0.0.1:3306 (root, empty password) --------------------------------------
mysql_url=${HOSTBRIDGE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
if [ -z "${HOSTBRIDGE_TEST_MYSQL_URL:-}" ]; then
  if ! mysqladmin -uroot -h127.0.0.1 -P3306 --connect-timeout=3 ping >/dev/null 2>&1; then
    if [ ! -x /usr/sbin/mariadbd ]; then
      say "installing MariaDB (mariadb-server)"
      apt_install "MariaDB" "mariadb-server mariadb-client"
    fi
    say "starting MariaDB"
    need_root_for "a running MariaDB" "mariadb-server"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || die "could not start /usr/sbin/mariadbd"
    for _ in $(seq 1 60); do
      mysqladmin -uroot -h127.0.0.1 -P3306 --connect-timeout=2 ping >/dev/null 2>&1 && break
      sleep 1
    done
  fi
  mysqladmin -uroot -h127.0.0.1 -P3306 --connect-timeout=3 ping >/dev/null 2>&1 \
    || die "MariaDB is not answering on 127.0.0.1:3306 as root with an empty password (set HOSTBRIDGE_TEST_MYSQL_URL to use another server)"
  mysql -uroot -h127.0.0.1 -P3306 -e 'CREATE DATABASE IF NOT EXISTS test' || die "cannot create databases on MariaDB as root"
fi
command -v mysqladmin >/dev/null || apt_install "mysqladmin (the restart test stops MariaDB with it)" "mariadb-client"
command -v start-stop-daemon >/dev/null || die "start-stop-daemon is missing (Debian package dpkg)"
export HOSTBRIDGE_TEST_MYSQL_URL="$mysql_url"

# --- PHP and PHPUnit for the WHMCS module's tests --------------------------------------------
php_missing=""
command -v php >/dev/null || php_missing="php-cli"
command -v phpunit >/dev/null || php_missing="$php_missing phpunit"
if command -v php >/dev/null; then
  for ext in curl mbstring xml; do php -m | grep -qix "$ext" || php_missing="$php_missing php-$ext"; done
fi
if [ -n "$php_missing" ]; then
  say "installing PHP for the WHMCS module tests ($php_missing)"
  apt_install "PHP and PHPUnit" "php-cli php-curl php-mbstring php-xml phpunit"
fi
php -r 'exit(PHP_VERSION_ID >= 80100 ? 0 : 1);' || die "PHP 8.1 or newer is required for the WHMCS module (found $(php -r 'echo PHP_VERSION;'))"

# --- OpenSSH sshd + sudo (HestiaCP driver tests) and PowerDNS with SQLite (PowerDNS driver) ---
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
  say "installing OpenSSH server for the HestiaCP driver tests (openssh-server)"
  apt_install "OpenSSH sshd" "openssh-server"
fi
command -v sudo >/dev/null || apt_install "sudo (the driver's sudo -n user test)" "sudo"
if [ ! -x /usr/sbin/pdns_server ] || [ ! -f /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ] || ! command -v sqlite3 >/dev/null; then
  say "installing PowerDNS with the SQLite backend (pdns-server pdns-backend-sqlite3 sqlite3)"
  # --no-install-recommends: pdns-server recommends the bind backend, which the tests do not want.
  apt_install "PowerDNS" "--no-install-recommends pdns-server pdns-backend-sqlite3 sqlite3"
fi
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd is missing (Debian package openssh-server)"
command -v sudo >/dev/null || die "sudo is missing (Debian package sudo)"
[ -x /usr/sbin/pdns_server ] || die "/usr/sbin/pdns_server is missing (Debian package pdns-server)"
[ -f /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ] || die "the PowerDNS SQLite schema is missing (Debian package pdns-backend-sqlite3)"
command -v sqlite3 >/dev/null || die "sqlite3 is missing (Debian package sqlite3)"

# --- systemd-analyze: test/install.test.ts verifies the shipped unit (deploy/systemd) ---------
if ! command -v systemd-analyze >/dev/null; then
  say "installing systemd-analyze for the unit's check (systemd)"
  apt_install "systemd-analyze" "systemd"
fi
command -v systemd-analyze >/dev/null || die "systemd-analyze is missing (Debian package systemd): test/install.test.ts verifies the systemd unit with it"

# --- Chromium for the browser tests of the pages (test/ui, driven by playwright-core) ----------
if [ ! -x /usr/bin/chromium ]; then
  say "installing Chromium for the browser tests (chromium)"
  apt_install "Chromium" "chromium"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing (Debian package chromium): the browser tests of the pages need it"

# --- Type check, then every test file, one file at a time ----------------------------------
say "type-checking (tsc --noEmit)"
npx --no-install tsc --noEmit || die "the TypeScript type check failed"

shopt -s globstar nullglob
files=(test/**/*.test.ts)
[ "${#files[@]}" -gt 0 ] || die "no test files found under test/"
say "running ${#files[@]} test files"
# One file at a time: the chaos tests start daemons and restart MariaDB, and time their work.
# A test that hangs fails after 15 minutes with its name instead of holding the run to its limit.
exec node --import tsx --test --test-concurrency=1 --test-timeout=900000 "${files[@]}"
