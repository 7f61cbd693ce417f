#!/bin/bash
# Wall time of world=native against world=sumo, back to back, EDGE-QI policy alone,
# DUR simulated seconds (default 600); run twice so that the second has SUMO's network
# and demand in the cache. Figures and machine: BENCHMARKS.md (issue 20).
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD EDGEQI_CACHE=${EDGEQI_CACHE:-/tmp/bench/cache}
stamp=$(date +%s)
mkdir -p "${OUT:-/tmp/bench}"
for city in small district; do
  for world in native sumo; do
    d=${OUT:-/tmp/bench}/$stamp-$city-$world
    ${EDGEQI:-.venv/bin/edgeqi} run city=$city world=$world duration_s=${DUR:-600} seed=1 policy.compare=[edgeqi] plots=false tables=false progress=false hydra.run.dir=$d > $d.log 2>&1
    python3 -c "
import json; s=json.load(open('$d/summary.json'))['sim']; print('$city $world', 'wall', s['wall_seconds'], 'sumo_steps', s.get('sumo_wall_seconds'), 'policy', s['policy_wall_seconds'])"
  done
done
uptime
