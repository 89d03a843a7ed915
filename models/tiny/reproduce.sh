#!/usr/bin/env bash
# Re-trains the bundled model (models/tiny) with the four `dragedit train-tiny` runs that made it, and checks every
# run's weights byte for byte against the folder that run produced (kept in git history). About 2.5 h on a 2-core CPU.
#
#   models/tiny/reproduce.sh [--from N] [--to N] [--work DIR] [--eval]
#
#   --from N   start at run N (1–4); run N starts from run N−1's folder as committed (git archive), so the runs can be
#              checked one at a time
#   --to N     stop after run N (default 4)
#   --work DIR where the runs' folders go (default /tmp/dragedit-reproduce); each run writes DIR/runN
#   --eval     afterwards, run `dragedit eval --suite synthetic --n 50` on the last run's folder (about 15 min)
#
# Run 1 is trained by dragedit as it was at commit 9d08643 (built in a git worktree under DIR): later, commit a208990
# made train-tiny's optimizer use optim/Adam, whose update rounds differently, so today's dragedit trains a different
# (equally good) run 1. Runs 2–4 use this checkout's ./dragedit. The thread counts are those of the original runs
# (a different count sums floats in another order). Bitwise identity holds on this kind of machine (x86-64 with AVX2,
# Java 17); a CPU with other vector widths gives other roundings, and then only `--eval` can compare the quality.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
from=1 to=4 work=/tmp/dragedit-reproduce eval=0
usage() { sed -n 2,12p "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
value() { # option, the arguments after it: the option's value, or a message and exit 2
    [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || { echo "reproduce.sh: $1 needs a value" >&2; exit 2; }
    printf '%s' "$2"
}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --from) from=$(value "$@"); shift 2 ;;
        --to) to=$(value "$@"); shift 2 ;;
        --work) work=$(value "$@"); shift 2 ;;
        --eval) eval=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "reproduce.sh: unknown argument '$1' (expected --from N, --to N, --work DIR, --eval)" >&2; exit 2 ;;
    esac
done
[[ "$from" =~ ^[1-4]$ && "$to" =~ ^[1-4]$ && "$from" -le "$to" ]] \
    || { echo "reproduce.sh: --from and --to must be runs 1–4 with from ≤ to, got --from '$from' --to '$to'" >&2; exit 2; }

# The commit whose models/tiny each run produced, and each run's arguments (after --out, --init-from).
commit=([1]=9d08643 [2]=d2ef994 [3]=dd866cb [4]=af724e8)
args=([1]="" [2]="--steps-vae 1500 --steps-unet 1500 --threads 2" [3]="--steps-vae 0 --steps-unet 5000 --threads 1"
      [4]="--steps-vae 0 --steps-unet 3000 --threads 1")
files=(vae/diffusion_pytorch_model.safetensors unet/diffusion_pytorch_model.safetensors text_encoder/model.safetensors
       vae/config.json unet/config.json text_encoder/config.json)

cd "$root"
for n in 1 2 3 4; do
    git cat-file -e "${commit[$n]}^{commit}" 2>/dev/null \
        || { echo "reproduce.sh: commit ${commit[$n]} (run $n's folder) is not in this clone's history; run 'git fetch --unshallow' first" >&2; exit 1; }
done
for f in "${files[@]}"; do # the table above must describe the bundled model
    [[ "$(git show "${commit[4]}:models/tiny/$f" | sha256sum)" == "$(sha256sum < "$root/models/tiny/$f")" ]] \
        || { echo "reproduce.sh: models/tiny/$f differs from run 4's (commit ${commit[4]}): the bundled model was retrained since this script was written; update its commit and args tables" >&2; exit 1; }
done
mkdir -p "$work"
for n in $(seq "$from" "$to"); do
    if [[ -e "$work/run$n" ]]; then
        echo "reproduce.sh: $work/run$n exists; remove it or choose another --work" >&2; exit 1
    fi
done

if [[ $from -gt 1 ]]; then
    prev="$work/committed-run$((from - 1))"
    rm -rf "$prev" && mkdir -p "$prev"
    git archive "${commit[$((from - 1))]}" models/tiny | tar -x -C "$prev"
    prev="$prev/models/tiny"
    echo "run $from starts from run $((from - 1))'s folder as committed in ${commit[$((from - 1))]} ($prev)"
fi

status=0
for n in $(seq "$from" "$to"); do
    out="$work/run$n"
    echo "== run $n of 4 → $out ($(date -u +%H:%M:%S) UTC)"
    if [[ $n -eq 1 ]]; then
        src="$work/src-${commit[1]}"
        if [[ ! -f "$src/dragedit" ]]; then
            rm -rf "$src"; git worktree prune
            git worktree add --detach "$src" "${commit[1]}" >/dev/null
        fi
        # that commit's launcher builds its jar on first use; the original run 1 used this 2-core machine's 2 threads
        DRAGEDIT_THREADS=2 "$src/dragedit" train-tiny --out "$out"
    else
        # shellcheck disable=SC2086  # args holds several options on purpose
        "$root/dragedit" train-tiny --out "$out" --init-from "$prev" ${args[$n]}
    fi
    same=1
    for f in "${files[@]}"; do
        want=$(git show "${commit[$n]}:models/tiny/$f" | sha256sum | cut -c1-64)
        got=$(sha256sum < "$out/$f" | cut -c1-64)
        if [[ "$want" == "$got" ]]; then echo "  identical  $f (sha256 ${got:0:16}…)"
        else echo "  DIFFERENT  $f: ${got:0:16}… here, ${want:0:16}… in ${commit[$n]}"; same=0; fi
    done
    if [[ $same -eq 1 ]]; then echo "run $n: byte-identical to models/tiny as committed in ${commit[$n]}"
    else echo "run $n: differs from ${commit[$n]}'s weights (another CPU or JDK rounds differently; compare quality with --eval)"; status=1; fi
    prev="$out"
done

if [[ $eval -eq 1 ]]; then
    echo "== eval --suite synthetic --n 50 on $prev (the bundled model: 49/50 found, median MD 2.70 px, 98% half-way, 29.8 dB)"
    "$root/dragedit" eval --suite synthetic --n 50 --model "$prev" --json "$work/eval-run$to.json"
fi
exit $status
