#!/usr/bin/env bash
# Renders the --status-path page under load in headless Chromium and saves a
# screenshot (docs/status.png by default), for the README.
#
# Needs: chromium (Debian package), wrk, node + npm. playwright-core (no
# browser download: it drives the system chromium) is installed into a
# temporary directory, not into the repository.
#
# usage: scripts/status_screenshot.sh [OUTPUT.png] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/status.png}
seconds=${2:-20}

for tool in chromium wrk node npm; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install chromium wrk nodejs npm)" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    pkill -P $$ wrk 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
./target/release/coffeeweb --quiet --listen 127.0.0.1:0 --status-path /status >"$work/out" 2>/dev/null &
server_pid=$!
until grep -q listening "$work/out" 2>/dev/null; do sleep 0.05; done
url=$(sed 's/.*listening on //' "$work/out")

(cd "$work" && npm init -y >/dev/null && npm install --silent playwright-core@1 >/dev/null)
cat >"$work/shot.js" <<'JS'
const { chromium } = require("playwright-core");
const [url, out, seconds] = process.argv.slice(2);
(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
  await page.waitForTimeout(Number(seconds) * 1000 - 1000);
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
JS
# A load that changes over time, so the charts have a shape.
(wrk -t1 -c20 -d"$((seconds / 2))s" "$url/" >/dev/null
 wrk -t1 -c60 -d"$((seconds / 2))s" "$url/" >/dev/null) &

NODE_PATH="$work/node_modules" node "$work/shot.js" "$url/status" "$PWD/$out" "$seconds"
echo "saved $out"
