#!/usr/bin/env bash
# Build pixelport's four CMYK print (output-class) ICC profiles with ArgyllCMS
# colprof from the free characterisation data shipped by Debian.
#
#   tools/profiles/build.sh            # writes layers/core/pixelport/imaging/profiles/*.icc
#   OUT_DIR=/tmp/x tools/profiles/build.sh
#
# Needs (installs nothing itself):
#   argyll             -> colprof
#   icc-profiles-free  -> FOGRA39L.ti3, FOGRA29L.ti3, TR003.ti3 and sRGB.icc
#   python3            -> linearize_b2a.py (standard library only)
#
# After colprof, linearize_b2a.py folds the B2A tables' per-channel CMYK output
# curves into their cLUTs.  Without that, a CMM interpolating between cLUT
# nodes that each respect the ink limit can overshoot it after the curves
# (measured: FOGRA29 at 300 % gave 308.6 % for dark saturated sRGB with the
# relative colorimetric intent).  See linearize_b2a.py and README.md.
#
# Reproducibility: colprof itself is deterministic for a given input and
# version; the only varying bytes are the ICC header creation date, which this
# script overwrites with SOURCE_DATE_EPOCH (default: a fixed date below).  With
# the package versions listed in PINNED_* the output is byte-identical to the
# committed profiles; build-info.txt records what a build actually used.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out_dir="${OUT_DIR:-$repo/layers/core/pixelport/imaging/profiles}"
data_dir="${ICC_DATA_DIR:-/usr/share/color/icc}"
# 2026-01-01T00:00:00Z unless the caller sets SOURCE_DATE_EPOCH.
source_date_epoch="${SOURCE_DATE_EPOCH:-1767225600}"
max_jobs="${JOBS:-$(nproc 2>/dev/null || echo 1)}"

# Versions the committed profiles were built with.
PINNED_ARGYLL="2.3.1+repack-1.1+b1"
PINNED_ICC_PROFILES_FREE="2.0.1+dfsg-1.1"

# Common colprof options (see README.md for the reasoning):
#   -qm            medium quality (A2B/B2A cLUT resolution), small profiles
#   -kp 0 .1 .9 1 .5
#                  press black generation: no K in the highlights, K starts at
#                  10 % of the white->black lightness range, reaches maximum
#                  K at black (so the black point is as little CMY as the
#                  ink limit allows); concave = a light/medium GCR
#   -nc            do not embed the .ti3 data (keeps the profile small; the
#                  data is in the Debian package)
#   -S sRGB.icc    real gamut-mapped perceptual and saturation B2A tables,
#                  mapped from the sRGB gamut (the product's source space)
#   -cmt -dpp      viewing conditions: source = monitor in a typical work
#                  environment, destination = practical reflection print
#                  (ISO 3664 P2)
common_opts=(-qm -kp 0 .1 .9 1 .5 -nc -S sRGB.icc -cmt -dpp)

die() { echo "build.sh: error: $*" >&2; exit 1; }

# --- preflight -----------------------------------------------------------------
missing_pkgs=()
command -v colprof >/dev/null 2>&1 || missing_pkgs+=(argyll)
command -v python3 >/dev/null 2>&1 || missing_pkgs+=(python3)
for f in FOGRA39L.ti3 FOGRA29L.ti3 TR003.ti3 sRGB.icc; do
    if [[ ! -r "$data_dir/$f" ]]; then
        missing_pkgs+=(icc-profiles-free)
        break
    fi
done
if ((${#missing_pkgs[@]})); then
    echo "build.sh: missing build dependencies." >&2
    echo "  colprof (ArgyllCMS), python3, and the FOGRA39L/FOGRA29L/TR003 .ti3 data plus" >&2
    echo "  sRGB.icc in $data_dir are required. On Debian/Ubuntu install them with:" >&2
    echo "    apt-get install ${missing_pkgs[*]}" >&2
    exit 1
fi

pkg_version() {
    if command -v dpkg-query >/dev/null 2>&1; then
        dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown
    else
        echo unknown
    fi
}
argyll_version="$(pkg_version argyll)"
icc_free_version="$(pkg_version icc-profiles-free)"
colprof_banner="$(colprof 2>&1 | head -n 1 || true)"
if [[ "$argyll_version" != "$PINNED_ARGYLL" || "$icc_free_version" != "$PINNED_ICC_PROFILES_FREE" ]]; then
    echo "build.sh: warning: argyll $argyll_version / icc-profiles-free $icc_free_version differ from" >&2
    echo "  the pinned $PINNED_ARGYLL / $PINNED_ICC_PROFILES_FREE; output will not be byte-identical" >&2
    echo "  to the committed profiles (re-run tests/unit/test_profiles_tac.py)." >&2
fi

mkdir -p "$out_dir"
work="$(mktemp -d "${TMPDIR:-/tmp}/pixelport-profiles.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$data_dir/sRGB.icc" "$work/sRGB.icc"

# ICC header bytes 24..35: creation dateTimeNumber (6 x uInt16 big-endian).
set_icc_date() {
    local file="$1" y mo d h mi s bytes=""
    read -r y mo d h mi s < <(date -u -d "@$source_date_epoch" '+%Y %m %d %H %M %S')
    for v in "$y" "$mo" "$d" "$h" "$mi" "$s"; do
        v=$((10#$v))
        bytes+="$(printf '\\x%02x\\x%02x' $((v >> 8)) $((v & 255)))"
    done
    # shellcheck disable=SC2059
    printf "$bytes" | dd of="$file" bs=1 seek=24 count=12 conv=notrunc status=none
}

# Every profile: name | .ti3 | TAC % | -A (manufacturer) | -M (model) | -D (description) | -C (copyright)
FOGRA_C="Profile built by pixelport with ArgyllCMS colprof. Characterization data"
TR003_C="Profile built by pixelport with ArgyllCMS colprof. Source of the characterization data: ANSI/CGATS/SWOP TR 003-2007 (data Copyright 2007 NPES The Association for Suppliers of Printing, Publishing and Converting Technologies), via Debian icc-profiles-free. No warranty."
profiles=(
    "ISO_Coated|FOGRA39L.ti3|330|Fogra (www.fogra.org) characterization data FOGRA39L|Offset, ISO 12647-2:2004/Amd 1, paper type 1/2 (coated), TAC 330%|ISO Coated - Coated FOGRA39 (ISO 12647-2:2004), TAC 330%|$FOGRA_C FOGRA39L by Fogra (www.fogra.org), via Debian icc-profiles-free (zlib licence). No warranty."
    "ISO_Uncoated|FOGRA29L.ti3|300|Fogra (www.fogra.org) characterization data FOGRA29L|Offset, ISO 12647-2:2004, paper type 4 (uncoated white), TAC 300%|ISO Uncoated - Uncoated FOGRA29 (ISO 12647-2:2004), TAC 300%|$FOGRA_C FOGRA29L by Fogra (www.fogra.org), via Debian icc-profiles-free (zlib licence). No warranty."
    "USWeb_Coated|TR003.ti3|300|ANSI CGATS and SWOP Committee characterization data TR003|SWOP proofing on grade 3 coated paper (ANSI/CGATS/SWOP TR 003-2007), TAC 300%|US Web Coated - SWOP2006 Coated3 (CGATS TR003), TAC 300%|$TR003_C"
    "USWeb_Uncoated|FOGRA29L.ti3|260|Fogra (www.fogra.org) characterization data FOGRA29L|Approximation: offset on uncoated paper (FOGRA29 data), TAC 260%|US Web Uncoated (approximation) - built from Uncoated FOGRA29 (ISO 12647-2:2004) data with a 260% ink limit, standing in for GRACoL 2013 Uncoated (CGATS21-2-CRPC3)|$FOGRA_C FOGRA29L by Fogra (www.fogra.org), via Debian icc-profiles-free (zlib licence). Approximation of GRACoL 2013 Uncoated (CGATS21-2-CRPC3), not built from that data. No warranty."
)

quote_cmd() {
    local out="" a
    for a in "$@"; do out+="$(printf '%q' "$a") "; done
    printf '%s\n' "${out% }"
}

build_one() {
    local spec="$1" name ti3 tac manu model desc copy
    IFS='|' read -r name ti3 tac manu model desc copy <<<"$spec"
    cp "$data_dir/$ti3" "$work/$name.ti3"
    local cmd=(colprof -v "${common_opts[@]}" -l "$tac" -A "$manu" -M "$model" -D "$desc" -C "$copy" "$name")
    quote_cmd "${cmd[@]}" >"$work/$name.cmd"
    if ! (cd "$work" && "${cmd[@]}") >"$work/$name.log" 2>&1; then
        tail -n 20 "$work/$name.log" >&2
        die "colprof failed for $name"
    fi
    python3 "$here/linearize_b2a.py" "$work/$name.icc"
    set_icc_date "$work/$name.icc"
    echo "built $name.icc ($(stat -c %s "$work/$name.icc") bytes): $(grep -h 'Profile check complete' "$work/$name.log" || true)"
}

# --- build (up to $max_jobs colprof processes at once) -----------------------------
pids=()
for spec in "${profiles[@]}"; do
    while (($(jobs -rp | wc -l) >= max_jobs)); do sleep 0.5; done
    build_one "$spec" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
((status == 0)) || die "one or more profiles failed to build"

# --- install + build record ----------------------------------------------------
{
    echo "# Generated by tools/profiles/build.sh - do not edit."
    echo "colprof: $colprof_banner"
    echo "argyll (Debian): $argyll_version"
    echo "icc-profiles-free (Debian): $icc_free_version"
    echo "SOURCE_DATE_EPOCH: $source_date_epoch ($(date -u -d "@$source_date_epoch" '+%Y-%m-%dT%H:%M:%SZ'))"
    echo
    echo "## inputs (sha256)"
    (cd "$data_dir" && sha256sum FOGRA39L.ti3 FOGRA29L.ti3 TR003.ti3 sRGB.icc)
    echo
    echo "## commands (run in a scratch dir holding NAME.ti3 = copy of the data file, and sRGB.icc)"
    echo "## each followed by: python3 tools/profiles/linearize_b2a.py NAME.icc; header date := SOURCE_DATE_EPOCH"
    for spec in "${profiles[@]}"; do
        IFS='|' read -r name ti3 _ <<<"$spec"
        echo "# $name.ti3 = $data_dir/$ti3"
        cat "$work/$name.cmd"
    done
    echo
    echo "## outputs (sha256)"
    for spec in "${profiles[@]}"; do
        IFS='|' read -r name _ <<<"$spec"
        install -m 0644 "$work/$name.icc" "$out_dir/$name.icc"
        (cd "$out_dir" && sha256sum "$name.icc")
    done
} >"$work/build-info.txt"
install -m 0644 "$work/build-info.txt" "$out_dir/build-info.txt"
echo "wrote ${#profiles[@]} profiles and build-info.txt to $out_dir"
