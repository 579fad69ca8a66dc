#!/usr/bin/env bash
# npm run release: builds dist/hostbridge-<version>.tar.gz and its checksum file (sha256sum format).
# The tarball holds what a production host runs (docs/install.md): the compiled daemon and
# migrations, the templates, package.json and package-lock.json for `npm ci --omit=dev`, the WHMCS
# modules, the systemd unit, the environment and nginx examples, and the docs. It is built from
# the committed tree (a release from uncommitted changes could not be rebuilt), with fixed owners,
# modes, order and times so the same commit gives the same tarball. The modes do not follow the
# builder's umask: unpacked by root, every file must stay readable by the daemon's user.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "FAILED: $*" >&2; exit 1; }

command -v git >/dev/null || die "git is needed (the release is built from a git checkout)"
git rev-parse --git-dir >/dev/null 2>&1 || die "$(pwd) is not a git checkout"
if [ -n "$(git status --porcelain --untracked-files=no)" ] && [ "${HOSTBRIDGE_RELEASE_DIRTY:-}" != 1 ]; then
  die "the checkout has uncommitted changes: commit them (or set HOSTBRIDGE_RELEASE_DIRTY=1 for a test build)"
fi
version=$(node -p 'require("./package.json").version')
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]] || die "package.json has no usable version (\"$version\")"
name="hostbridge-$version"

bash scripts/build.sh

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin"
# dist/ mirrors the source tree; its templates and package.json are links into the checkout.
cp -r dist/daemon dist/migrations "$root/"
cp -r templates "$root/templates"
cp package-lock.json "$root/"
# The release runs compiled JavaScript: no npm scripts (they name files of the checkout).
node -e '
  const p = require("./package.json");
  delete p.scripts;
  process.stdout.write(JSON.stringify(p, null, 2) + "\n");
' > "$root/package.json"
cat > "$root/bin/hostbridge" <<'LAUNCHER'
#!/usr/bin/env bash
# The hostbridge command line of a release: the compiled daemon, no TypeScript loader.
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
exec node "$here/daemon/cli.js" "$@"
LAUNCHER
chmod 0755 "$root/bin/hostbridge"
mkdir -p "$root/bridge-php"
cp -r bridge-php/modules "$root/bridge-php/modules"
cp -r deploy docs README.md "$root/"
git rev-parse HEAD > "$root/COMMIT"

# Every file the release needs, checked before packing (a missing one is a broken release).
for f in daemon/cli.js migrations/index.js templates/views templates/tickets package.json package-lock.json \
         bin/hostbridge bridge-php/modules/servers/hostbridge/hostbridge.php bridge-php/modules/addons/hostbridge/hostbridge.php \
         deploy/systemd/hostbridge.service deploy/hostbridge.env.example deploy/nginx/hostbridge.conf docs/install.md; do
  [ -e "$root/$f" ] || die "the release lacks $f"
done

mtime=$(git log -1 --format=%cI)
mkdir -p dist
tarball="dist/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mode=u+rwX,go+rX,go-w --mtime="$mtime" -C "$stage" -cf - "$name" | gzip -n -9 > "$tarball"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "built $tarball ($(du -h "$tarball" | cut -f1)) and $tarball.sha256" >&2
