#!/usr/bin/env bash
# Trains models/current.tar.gz only when what it is trained from changed: config.yml,
# domain.yml, data/ (including the names generated from knowledge/), the words of
# knowledge/vocabulary.yml and the custom components.
set -euo pipefail
cd "$(dirname "$0")/.."
fingerprint=$(cat config.yml domain.yml knowledge/vocabulary.yml $(find data components -type f \( -name '*.yml' -o -name '*.py' \) | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)
if [ -f models/current.tar.gz ] && [ "$(cat models/fingerprint 2>/dev/null)" = "$fingerprint" ]; then
  echo "Model up to date (models/current.tar.gz)."
  exit 0
fi
echo "Training the model (config, domain or data changed)…"
.venv/bin/rasa train --fixed-model-name current --out models --quiet
echo "$fingerprint" > models/fingerprint
