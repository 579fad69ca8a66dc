#!/usr/bin/env bash
# The test command (npm test): brings up what the tests need, then runs them all.
# It installs what is missing from Debian's packages and fails loudly, naming what it could not
# provide; it never skips a test for want of a component.
set -euo pipefail
cd "$(dirname "$0")/.."
# tsx compiles each file through esbuild's synchronous API, which by default waits in Atomics.wait
# for a helper thread; a CI run saw one test process wait there for good (14 minutes, no CPU, its
# esbuild service idle). "0" makes esbuild run each synchronous call on its own service instead
# (esbuild's own switch; same speed here with tsx's cache). Every process the tests start inherits it.
export ESBUILD_WORKER_THREADS=0

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

# --- pebble: a real ACME server issues the certificate the TLS probe's test judges valid -------
if [ ! -x /usr/bin/pebble ]; then
  say "installing pebble for the ACME test (pebble)"
  apt_install "pebble" "pebble"
fi
[ -x /usr/bin/pebble ] || die "/usr/bin/pebble is missing (Debian package pebble): test/ssl/pebble.test.ts needs it"

# --- Type check, then every test file, in two lanes --------------------------------------
say "type-checking (tsc --noEmit)"
npx --no-install tsc --noEmit || die "the TypeScript type check failed"

shopt -s globstar nullglob
files=(test/**/*.test.ts)
[ "${#files[@]}" -gt 0 ] || die "no test files found under test/"

# The serial lane, after the parallel one: files that must have the machine to themselves, each
# for its reason. Every other file runs in the parallel lane, two files at a time: most of their
# time is spent waiting (on SSH, MariaDB, PowerDNS, Chromium, PHP, child processes), and each has
# its own database, temp dirs and free ports, so two cannot meet (test/helpers/db.ts, sshd.ts).
# The chaos tests that kill daemons run there too: their leases (10-15 s) outlast any stall a
# second file causes, and they passed on this 2-core machine beside each other under a load of 8-12.
serial=(
  test/chaos/mariadb-restart.test.ts    # stops and starts the MariaDB server every other test uses
  test/chaos/lease-last-attempt.test.ts # daemon A's 3 s lease may run out only in the test's own stalls, not in a busy neighbour's
  test/e2e/no-test-types.test.ts        # rebuilds dist/ (rm -rf dist) and runs it, as test/build.test.ts does in the parallel lane
)
# The parallel lane starts with its longest files (the rest keep their order), so its last minutes
# do not leave one slot idle behind a long file started late. Only the order changes.
slow_first=(
  test/chaos/sigkill.test.ts
  test/cli.test.ts
  test/ui/pages.test.ts
  test/install.test.ts
  test/php/bridge.test.ts
  test/e2e/sigkill.test.ts
  test/ui/hosting-panel-tabs.test.ts
  test/doctor.test.ts
  test/release.test.ts
  test/metrics.test.ts
  test/chaos/kvm-sigkill.test.ts
  test/e2e/kvm-lifecycle.test.ts
  test/chaos/multi-daemon.test.ts
  test/cli/process-vms.test.ts
  test/chaos/kvm-multi-daemon.test.ts
)
for f in "${serial[@]}" "${slow_first[@]}"; do
  [ -f "$f" ] || die "test/run.sh names $f in a lane, but there is no such file: update its lists"
done
parallel=("${slow_first[@]}")
for f in "${files[@]}"; do
  case " ${serial[*]} ${slow_first[*]} " in *" $f "*) ;; *) parallel+=("$f") ;; esac
done

# How many files the parallel lane runs at once (1 runs every file alone, as before).
width=${HOSTBRIDGE_TEST_CONCURRENCY:-2}
[[ "$width" =~ ^[1-9][0-9]*$ ]] || die "HOSTBRIDGE_TEST_CONCURRENCY must be a whole number of files, got \"$width\""

lanes_dir=$(mktemp -d)
trap 'rm -rf "$lanes_dir"' EXIT
failed_lanes=()
# A test that hangs fails after 15 minutes with its name instead of holding the run to its limit.
run_lane() {
  local name=$1 concurrency=$2
  shift 2
  say "$name lane: $# test files, $concurrency at a time"
  set +e
  node --import tsx --test --test-concurrency="$concurrency" --test-timeout=900000 "$@" | tee "$lanes_dir/$name.tap"
  local rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || failed_lanes+=("the $name lane (node exited with $rc)")
}
run_lane parallel "$width" "${parallel[@]}"
run_lane serial 1 "${serial[@]}"

# Both lanes' closing summaries added up, in node's own format, as the run's last lines.
say "all ${#files[@]} test files"
for key in tests suites pass fail cancelled skipped todo duration_ms; do
  total=0
  for lane in parallel serial; do
    n=$(grep -E "^# $key [0-9.]+$" "$lanes_dir/$lane.tap" | tail -n1 | cut -d' ' -f3)
    total=$(awk -v a="$total" -v b="${n:-0}" 'BEGIN { print a + b }')
  done
  echo "# $key $total"
done
if [ "${#failed_lanes[@]}" != 0 ]; then
  say "failing (top level):"
  grep -hE '^not ok ' "$lanes_dir/parallel.tap" "$lanes_dir/serial.tap" || true
  where=$(printf '%s and ' "${failed_lanes[@]}")
  die "tests failed in ${where% and }; see the lines marked \"not ok\" above"
fi
