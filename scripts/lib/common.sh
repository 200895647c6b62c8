#!/usr/bin/env bash
# Shared helpers for SegHub's scripts: step banners and idempotent package installation.

seg_step() { printf '\n==> %s\n' "$*" >&2; }

# Installs the named Debian packages that are not installed yet (root or sudo needed only then).
seg_apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    seg_step "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The Python environment for reference fixtures and peer comparisons, outside the checkout.
SEG_VENV="${SEGHUB_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/seghub/venv}"

# Creates the venv if needed and installs the named PyPI packages that are missing.
seg_venv() {
    seg_apt_install python3-venv
    if [ ! -x "$SEG_VENV/bin/python" ]; then
        seg_step "creating Python venv at $SEG_VENV"
        python3 -m venv "$SEG_VENV"
    fi
    local missing=()
    for spec in "$@"; do
        local module="${spec%%=*}"
        "$SEG_VENV/bin/python" -m pip show -q "$module" >/dev/null 2>&1 || missing+=("$spec")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        seg_step "pip install ${missing[*]}"
        "$SEG_VENV/bin/python" -m pip install -q "${missing[@]}"
    fi
}
