#!/usr/bin/env bash
# Installs everything ccdr and its lab need, idempotently, from the package registries only
# (Debian, PyPI, Maven Central). Safe to run again: each step skips what is already there.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
topo() { python3 -c "import tomllib,sys; t=tomllib.load(open('infra/topology.toml','rb')); print(eval(sys.argv[1]))" "$1"; }

[ "$(id -u)" -eq 0 ] || { echo "install.sh: needs root (apt, /opt)" >&2; exit 1; }

# 1. Debian packages.
apt_packages=(iproute2 nftables haproxy zookeeper postgresql-15 postgresql-client-15
              openjdk-17-jre-headless maven python3-venv procps
              libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core  # PDF reports (WeasyPrint)
              chromium chromium-driver  # the console's browser tests (Selenium)
              pgbackrest  # backups of the Patroni cluster to the witness (docs/backup.md)
              postfix  # the lab's mail relay at the witness (infra/lab/mail_relay.py), run by the lab's supervisord only
              systemd openssl)  # `ccdr render production` is checked with systemd-analyze verify and openssl req
# npm vendors the console's htmx; a machine with its own Node.js (which conflicts with Debian's
# npm package) keeps it.
command -v npm >/dev/null || apt_packages+=(npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  apt-get update -q
  # Postfix without a system-wide configuration: the lab runs its own instance (`postfix -c`).
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  step "apt: all ${#apt_packages[@]} packages present"
fi

install_dir=$(topo "t['lab']['install_dir']")
kafka_version=$(topo "t['lab']['kafka_version']")
mkdir -p "$install_dir"
chmod 755 "$install_dir"

# 2. Kafka jars from Maven Central (Kafka is not packaged by Debian).
kafka_libs="$install_dir/kafka-$kafka_version/libs"
if [ ! -f "$kafka_libs/kafka_2.13-$kafka_version.jar" ]; then
  step "maven: Kafka $kafka_version jars -> $kafka_libs"
  rm -rf "$kafka_libs.tmp"
  mvn -q -B -f infra/kafka/pom.xml dependency:copy-dependencies \
      -Dkafka.version="$kafka_version" -DincludeScope=runtime -DoutputDirectory="$kafka_libs.tmp"
  rm -rf "$kafka_libs"; mv "$kafka_libs.tmp" "$kafka_libs"
else
  step "maven: Kafka $kafka_version jars present"
fi

# 3. Patroni in its own venv on Debian's interpreter: it runs as the postgres user, who cannot
#    read an interpreter under root's home (Patroni's spawned postmaster would die silently).
patroni_venv="$install_dir/patroni-venv"
if [ ! -x "$patroni_venv/bin/patroni" ] || ! cmp -s infra/install/patroni-requirements.txt "$patroni_venv/.requirements"; then
  step "pip: Patroni venv -> $patroni_venv"
  /usr/bin/python3 -m venv "$patroni_venv"
  "$patroni_venv/bin/pip" install -q -r infra/install/patroni-requirements.txt
  cp infra/install/patroni-requirements.txt "$patroni_venv/.requirements"
else
  step "pip: Patroni venv present"
fi
chmod -R a+rX "$install_dir"

# 4. The project itself, in .venv: exactly the versions in uv.lock, installed by uv (itself pinned,
# from PyPI, in a venv of its own). `uv lock` after changing pyproject.toml's dependencies;
# --locked refuses a lock that no longer matches pyproject.toml instead of resolving anew.
uv_version=0.13.9
uv_venv="$install_dir/uv-venv"
if [ ! -x "$uv_venv/bin/uv" ] || [ "$("$uv_venv/bin/uv" --version | cut -d' ' -f2)" != "$uv_version" ]; then
  step "pip: uv $uv_version -> $uv_venv"
  python3 -m venv "$uv_venv"
  "$uv_venv/bin/pip" install -q "uv==$uv_version"
fi
if [ ! -x .venv/bin/ccdr ] || ! cmp -s uv.lock .venv/.uv.lock || ! cmp -s pyproject.toml .venv/.pyproject; then
  step "uv: ccdr and its dev tools, as locked in uv.lock -> .venv"
  UV_PROJECT_ENVIRONMENT=.venv "$uv_venv/bin/uv" sync --locked --extra dev --python /usr/bin/python3 --quiet
  cp uv.lock .venv/.uv.lock
  cp pyproject.toml .venv/.pyproject
else
  step "uv: .venv present (as locked)"
fi
# 5. Browser assets, vendored from npm at install time: the console's htmx (nothing is loaded from
# the internet at run time; the Content-Security-Policy allows only ccdr's own files) and, for the
# browser tests only, axe-core (the accessibility checker they run in each page).
vendor_npm() {  # package version file-in-package destination-dir
  local package=$1 version=$2 file=$3 dest=$4
  if [ ! -f "$dest/$(basename "$file")" ] || [ "$(cat "$dest/.$package.version" 2>/dev/null)" != "$version" ]; then
    step "npm: $package $version -> $dest"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$dest"
    cp "$tmp/package/$file" "$dest/"
    echo "$version" > "$dest/.$package.version"
    rm -rf "$tmp"
  else
    step "npm: $package $version present"
  fi
}
vendor_npm htmx.org 2.0.8 dist/htmx.min.js core/console/static/vendor
vendor_npm axe-core 4.11.0 axe.min.js tests/integration/vendor
step "install complete"
