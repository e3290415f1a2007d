#!/usr/bin/env bash
# Prepares, on this machine, what bench/device.sh needs on a bare device machine (no network, no Deno): Deno, the npm
# packages the benchmark loads, and the Vulkan loader's Debian packages (the device tool's README recipe), as one
# xz'd tarball split into parts that each fit one device call beside the working tree (64 MiB a call in all).
# Each part lands in .device/pNN/ (git-ignored); the script ends by printing the device calls to make, in order,
# one after another (a machine goes back 30 s after a call, and with it the parts received so far).
#
# Usage: bash bench/device_pack.sh [--check]    (needs npm ci's node_modules, apt-get download and xz)
#   --check   then plays the device's part here: copies the working tree as it travels into a temporary folder,
#             receives every part there as the device calls would (the Vulkan loader unpacked into a temporary root,
#             not /), and dry-runs bench/device.sh on the payload's Deno and packages alone: a module the payload
#             lacks fails here, not during a lease.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true
limit=$((64 * 1024 * 1024))
margin=$((1024 * 1024))
# What travels anyway: tracked files and untracked ones git does not ignore.
tree=$( (git ls-files -z; git ls-files -z -o --exclude-standard) | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
part=$((limit - tree - margin))
if [ "$part" -lt $((2 * 1024 * 1024)) ]; then
  echo "error: the working tree takes $((tree / 1024 / 1024)) MiB of a device call's 64: under 2 MiB is left for each part" >&2
  exit 1
fi

rm -rf .device
stage=.device/stage
mkdir -p "$stage/bin" "$stage/node_modules/onnxruntime-web/dist" "$stage/gl"
cp node_modules/deno/deno "$stage/bin/deno"
# The packages the benchmark's modules import: the CLI's static imports, GPT-2's BPE files for the random model, and
# ONNX Runtime Web's WebGPU bundle (which
# holds its own dependencies) with the wasm module it loads and its loader.
for pkg in @huggingface/tokenizers hyparquet yaml onnxruntime-common gpt-3-encoder; do
  mkdir -p "$stage/node_modules/$(dirname "$pkg")"
  cp -r "node_modules/$pkg" "$stage/node_modules/$pkg"
done
cp node_modules/onnxruntime-web/package.json "$stage/node_modules/onnxruntime-web/"
cp node_modules/onnxruntime-web/dist/ort.webgpu.bundle.min.mjs \
  node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.{mjs,wasm} "$stage/node_modules/onnxruntime-web/dist/"
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/sae-device-apt)
mkdir -p /tmp/sae-device-apt/partial
apt-get "${apt_opts[@]}" update -qq
(cd "$stage/gl" && apt-get "${apt_opts[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

tar -C "$stage" -cf - . | xz -T0 -6 >.device/payload.tar.xz
rm -rf "$stage"
split -b "$part" -d -a 2 .device/payload.tar.xz .device/part-
rm .device/payload.tar.xz
(cd .device && sha256sum part-* >manifest)
for p in .device/part-*; do
  n=${p##*part-}
  mkdir ".device/p$n"
  mv "$p" ".device/p$n/"
  cp .device/manifest ".device/p$n/"
done
rm .device/manifest
parts=(.device/p*)
echo "payload: ${#parts[@]} parts of at most $((part / 1024 / 1024)) MiB (the tree takes $((tree / 1024 / 1024)) MiB)"
echo "device calls, in order, each within 30 s of the last:"
for ((i = 0; i < ${#parts[@]}; i++)); do
  if [ "$i" -lt $((${#parts[@]} - 1)) ]; then
    echo "  run carry [\"${parts[$i]}\"] command \"bash bench/device.sh --receive\""
  else
    echo "  run carry [\"${parts[$i]}\"] command \"bash bench/device.sh\" timeout_s 540"
  fi
done

if $check; then
  bare=$(mktemp -d /tmp/sae-device-check-XXXXXX)
  trap 'rm -rf "$bare"' EXIT
  mkdir -p "$bare/tree" "$bare/root"
  (git ls-files; git ls-files -o --exclude-standard) | tar -cf - -T - | tar -xf - -C "$bare/tree"
  for p in "${parts[@]}"; do
    mkdir -p "$bare/tree/.device" && cp -r "$p" "$bare/tree/.device/"
    (cd "$bare/tree" && SAE_DEVICE_HOME="$bare/home" SAE_DEVICE_ROOT="$bare/root" bash bench/device.sh --receive)
    rm -rf "$bare/tree/.device"
  done
  (cd "$bare/tree" && SAE_DEVICE_HOME="$bare/home" OUT="$bare/out" bash bench/device.sh --dry-run)
  echo "check: the payload ran the dry run on its own Deno and packages"
fi
