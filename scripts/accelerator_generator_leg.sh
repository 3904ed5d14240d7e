#!/bin/bash
# One accelerator leg of the SMILES GPT: pack MOSES on the machine's cores, then train two
# sizes side by side on the one GPU for a fixed wall budget. Usage:
#   bash scripts/accelerator_generator_leg.sh DEVICE INPUT DEADLINE_S OUTDIR
# Prepared here (CPU) with:
#   python -m core.train.molecule_generator pack-input .gpu/moses_input.npz   (24 MB)
#   pip download rdkit (cp312 wheel, 32 MB) into .whl/ for a machine without RDKit
# The tree that travels must stay under 64 MiB: checkpoints/, trained_models/,
# benchmarks/results/ and reference_data/ are not needed there. Outputs come back as
# 15 MB parts of one tar (cat models.tar.part-* | tar x), to resume or export here.
# Dry run on the CPU: PATH=.venv/bin:$PATH WORKERS=2 BATCH=32 bash <this> cpu <small.npz> 110 /tmp/o
set -u
DEVICE=$1; INPUT=$2; DEADLINE=$3; OUTDIR=$4
T0=$(date +%s)
W=/tmp/w; rm -rf $W; mkdir -p $W $OUTDIR
export PYTHONUNBUFFERED=1 MDS_TORCH_COMPILE=0
python3 -m core.train.molecule_generator pack $INPUT $W/pack --variants 4 --workers ${WORKERS:-14} > $OUTDIR/pack.log 2>&1 || { tail -40 $OUTDIR/pack.log; exit 5; }
tail -c 1500 $OUTDIR/pack.log
LEFT=$(( DEADLINE - ($(date +%s) - T0) ))
BUDGET=$(python3 -c "print(round(($LEFT - 45) / 60, 2))")
HARD=$(python3 -c "print(round(($LEFT - 25) / 60, 2))")
echo "pack done after $(( $(date +%s) - T0 )) s; training budget $BUDGET min (hard stop $HARD)"
COMMON="--packed $W/pack --device $DEVICE --batch-size ${BATCH:-512} --warmup 1000 --eval-every ${EVAL:-2500} --eval-samples 512 --log-every 250 --ckpt-minutes 2 --time-budget-minutes $BUDGET --max-minutes $HARD --threads 2"
python3 -m core.train.molecule_generator train --out $W/gpt_6x256 $COMMON --n-layer 6 --n-embd 256 --n-head 8 --dropout 0.1 --lr 1e-3 > $OUTDIR/gpt_6x256.log 2>&1 &
P1=$!
python3 -m core.train.molecule_generator train --out $W/gpt_6x128 $COMMON --n-layer 6 --n-embd 128 --n-head 4 --lr 2e-3 > $OUTDIR/gpt_6x128.log 2>&1 &
P2=$!
for i in $(seq 1 12); do
  sleep 5
  if ! kill -0 $P1 2>/dev/null || ! kill -0 $P2 2>/dev/null; then break; fi
done
kill -0 $P1 2>/dev/null || { echo "6x256 ended early"; tail -30 $OUTDIR/gpt_6x256.log; }
kill -0 $P2 2>/dev/null || { echo "6x128 ended early"; tail -30 $OUTDIR/gpt_6x128.log; }
wait $P1; R1=$?; wait $P2; R2=$?
echo "exit codes $R1 $R2 after $(( $(date +%s) - T0 )) s"
grep -h "sized\|eval" $OUTDIR/gpt_6x256.log | tail -8
grep -h "sized\|eval" $OUTDIR/gpt_6x128.log | tail -8
tar -C $W -cf - gpt_6x256 gpt_6x128 | split -b 15M - $OUTDIR/models.tar.part-
ls -la $OUTDIR
