#!/bin/sh
# Interleaved throughput comparison of airvec's tokenizer with HF tokenizers
# (npm tokenizers 0.23.2 through ../shared/tools/tokoracle/tokbench.js) on
# the 5 MB bench text, same machine, same run. Prints one line per
# measurement; summarize with the medians.
#   usage: tokenizer/benchhf.sh [rounds]     (from the module root)
# Needs node and the npm package: NODE_PATH=$HOME/.cache/airvec-refbench/node/node_modules
# (refbench setup) or `npm install tokenizers@0.23.2` in tools/tokoracle.
set -e
rounds=${1:-3}
shared=${AIRVEC_TESTDATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
export NODE_PATH=${NODE_PATH:-$HOME/.cache/airvec-refbench/node/node_modules}
bin=$(mktemp -d)/tokenizer.test
go test -c -o "$bin" ./tokenizer
for r in $(seq 1 "$rounds"); do
  for tk in bert-base-uncased:tokenizers/bert-base-uncased.json bert-base-chinese:tokenizers/bert-base-chinese.json \
            clip:tokenizers/clip.json qwen3:models/qwen3-mini-embed/tokenizer.json t5:tokenizers/t5.json \
            xlmr-style-unigram:tokenizers/xlmr-style-unigram.json; do
    name=${tk%%:*}; file=$shared/${tk#*:}
    (cd tokenizer && GOMAXPROCS=1 "$bin" -test.run '^$' -test.bench "^BenchmarkEncode/$name/single\$" -test.benchtime 1x) | grep '^Benchmark' | sed "s/^/round=$r go1 /"
    RAYON_NUM_THREADS=1 node "$shared/tools/tokoracle/tokbench.js" "$file" --reps 1 --mode batch | sed "s/^/round=$r hf1 $name /"
    (cd tokenizer && GOMAXPROCS=2 "$bin" -test.run '^$' -test.bench "^BenchmarkEncode/$name/batch\$" -test.benchtime 1x) | grep '^Benchmark' | sed "s/^/round=$r go2 /"
    RAYON_NUM_THREADS=2 node "$shared/tools/tokoracle/tokbench.js" "$file" --reps 1 --mode batch | sed "s/^/round=$r hf2 $name /"
  done
done
