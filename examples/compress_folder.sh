#!/usr/bin/env bash
# Compress every ENVI scene of a folder, then decode each one back, with a one-line summary per file.
#
#   examples/compress_folder.sh SCENES_DIR OUT_DIR [BPPPB]
#
# Existing outputs are kept (hinerc refuses to overwrite without --force), a failing scene does not
# stop the loop, and the script exits non-zero if any scene failed.
set -u
src=${1:?usage: $0 SCENES_DIR OUT_DIR [BPPPB]}
out=${2:?usage: $0 SCENES_DIR OUT_DIR [BPPPB]}
rate=${3:-0.2}
mkdir -p "$out"
failed=0
for hdr in "$src"/*.hdr; do
    [ -e "$hdr" ] || { echo "no .hdr files in $src" >&2; exit 1; }
    name=$(basename "$hdr" .hdr)
    if hinerc compress "$hdr" -o "$out/$name.hnr" --bpppb "$rate" --quiet &&
       hinerc decompress "$out/$name.hnr" -o "$out/$name.decoded.hdr" --quiet; then
        hinerc info "$out/$name.hnr" --json |
            python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"$name: {d['bpppb']:.4f} bpppb, PSNR {d['psnr_db']} dB\")"
    else
        echo "$name: FAILED" >&2
        failed=1
    fi
done
exit $failed
