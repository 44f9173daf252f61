#!/usr/bin/env bash
# Installs the Debian packages that building and testing llmsim needs, and only the missing ones.
#
# Shared by `make` (the deps step of every target) and CI (.ci/run goes through make).  When
# everything is installed it costs one dpkg-query call (a few milliseconds).  When packages are
# missing:
#   - as root with apt-get: `apt-get update` once, then install the missing packages, without
#     recommends and without questions (CI runs with no stdin);
#   - otherwise: print the apt-get command that would install them and fail.
#
# Environment:
#   EXTRA_PKGS         more package names to require, separated by spaces
#   LLMSIM_SKIP_DEPS=1 skip the check (for machines whose libraries come from elsewhere)
set -euo pipefail

PKGS=(
    cmake pkg-config gcc libc6-dev make      # tool chain
    libgsl-dev libyaml-dev libhdf5-dev check # libraries (GSL, libyaml, HDF5 + HL, Check)
    hdf5-tools                               # h5dump, h5ls: used by tests and handy by hand
    parallel                                 # GNU parallel: tests/cli/test_sweep.sh runs sweep shards
    python3-numpy python3-pandas python3-tables python3-h5py # results readers and tests
    python3-yaml python3-matplotlib python3-pil              # llmsim notebook: loader and plots
    python3-nbformat python3-nbclient python3-ipykernel python3-nbconvert # ... executed, to HTML
    chromium                                                 # tests/cli/test_notebook.sh renders the HTML
    clang libclang-rt-14-dev                 # tests/fuzz: clang with libFuzzer and the sanitizers
)
# shellcheck disable=SC2206 # word splitting of EXTRA_PKGS is intended
PKGS+=(${EXTRA_PKGS:-})

say() { printf 'deps: %s\n' "$*" >&2; }

if [[ "${LLMSIM_SKIP_DEPS:-0}" == 1 ]]; then
    say "LLMSIM_SKIP_DEPS=1: not checking packages"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: check the tools only and let CMake report missing libraries.
    missing_tools=()
    for tool in cmake pkg-config cc make; do
        command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
    done
    if ((${#missing_tools[@]})); then
        say "missing tools: ${missing_tools[*]}"
        say "this is not a Debian system: install them and the development files of GSL,"
        say "libyaml, HDF5 (with the high-level library) and Check with your package manager"
        exit 1
    fi
    say "no dpkg-query (not Debian): tools found, CMake will check the libraries"
    exit 0
fi

# Prints the packages of "$@" that are not fully installed.
missing_packages() {
    local status
    # One call for all packages; unknown names are simply absent from the output.
    status=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
    local pkg
    for pkg in "$@"; do
        grep -qx -- "${pkg} install ok installed" <<<"$status" || printf '%s\n' "$pkg"
    done
}

mapfile -t missing < <(missing_packages "${PKGS[@]}")
if ((${#missing[@]} == 0)); then
    exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
say "missing Debian packages: ${missing[*]}"

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        say "not root, so not installing them; run:"
        say "    sudo apt-get update && sudo ${cmd}"
    else
        say "no apt-get on this machine; install the equivalents of: ${missing[*]}"
    fi
    say "then run make again (or set LLMSIM_SKIP_DEPS=1 to skip this check)"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
say "running: apt-get update"
if ! apt-get update </dev/null; then
    say "error: 'apt-get update' failed (no network or broken sources?); cannot install: ${missing[*]}"
    exit 1
fi
say "running: ${cmd}"
if ! apt-get install -y --no-install-recommends "${missing[@]}" </dev/null; then
    say "error: could not install: ${missing[*]}"
    say "check the names with 'apt-cache policy NAME'; the command was: ${cmd}"
    exit 1
fi

mapfile -t still < <(missing_packages "${PKGS[@]}")
if ((${#still[@]})); then
    say "error: still missing after apt-get install: ${still[*]}"
    exit 1
fi
say "installed: ${missing[*]}"
