#!/usr/bin/env bash
# The GPU benchmark on a lent device machine (bench/device.ts): receives the parts bench/device_pack.sh made here
# (Deno, the npm packages, the Vulkan loader), unpacks them once all have come, points Vulkan at the NVIDIA driver,
# and runs the benchmark under a 7.5-minute limit, writing device.json and device.txt to $OUT.
#
# Usage: bash bench/device.sh [--receive] [--dry-run]
#   --receive   keep the part(s) under .device/ and stop (the calls before the last)
#   --dry-run   toy sizes on whatever adapter there is, GPU checks reported absent: here with this checkout's Deno
#               (the test does so), or with the unpacked payload where there is one (checks that it is complete)
set -euo pipefail
cd "$(dirname "$0")/.."
home=${SAE_DEVICE_HOME:-/root/.sae-device}
receive_only=false dry_run=false
for arg in "$@"; do
  case "$arg" in
    --receive) receive_only=true ;;
    --dry-run) dry_run=true ;;
    *) echo "error: bench/device.sh takes --receive and --dry-run: current value is $arg" >&2; exit 2 ;;
  esac
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} NO_COLOR=1

receive() {
  mkdir -p "$home/parts"
  for dir in .device/p*/; do
    [ -d "$dir" ] || continue
    cp "$dir"part-* "$dir"manifest "$home/parts/"
  done
  [ -f "$home/parts/manifest" ] || { echo "error: no part of the payload has come (.device/pNN/): run bench/device_pack.sh here first" >&2; exit 1; }
  local want have
  want=$(wc -l <"$home/parts/manifest")
  have=$(find "$home/parts" -name 'part-*' | wc -l)
  if [ "$have" -lt "$want" ]; then
    echo "received $have of $want parts"
    return 1
  fi
  (cd "$home/parts" && sha256sum --quiet -c manifest) || { echo "error: a part of the payload is damaged: pack and send again" >&2; exit 1; }
  cat "$home/parts"/part-* | xz -d | tar -x -C "$home"
  # The Vulkan loader goes into / (SAE_DEVICE_ROOT elsewhere, to check a payload on a machine that has its own).
  for f in "$home"/gl/*.deb; do dpkg -x "$f" "${SAE_DEVICE_ROOT:-/}"; done
  [ -n "${SAE_DEVICE_ROOT:-}" ] || ldconfig
  touch "$home/ready"
  echo "payload unpacked into $home"
}

# Parts sent with this call (or earlier ones) are kept; once all have come, the payload is unpacked. A dry run
# never unpacks (it would put the Vulkan loader into /).
if ! $dry_run && [ ! -f "$home/ready" ] && compgen -G ".device/p*/part-*" >/dev/null; then
  receive || { $receive_only && exit 0; echo "error: parts are missing: send the remaining .device/pNN first" >&2; exit 1; }
fi
$receive_only && exit 0
if [ -f "$home/ready" ]; then
  deno=$home/bin/deno
  [ -e node_modules ] || ln -s "$home/node_modules" node_modules
  # The device image's python3 is the one holding PyTorch with CUDA.
  SAE_BENCH_PYTHON=${SAE_BENCH_PYTHON:-$(command -v python3)}
  export SAE_BENCH_PYTHON
elif $dry_run && [ -x node_modules/deno/deno ]; then
  deno=node_modules/deno/deno # this checkout's, as npm ci installed it
else
  echo "error: no Deno: send the parts bench/device_pack.sh made (.device/pNN), or --dry-run in a checkout with npm ci done" >&2
  exit 1
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
out=${OUT:-out/device}
args=(--out "$out")
$dry_run && args+=(--dry-run)
timeout 450 "$deno" run -A bench/device.ts "${args[@]}"
