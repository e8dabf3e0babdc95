#!/usr/bin/env bash
# The README's demo: start the dev cluster and show what it is.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

$BIN/harmonia dev-cluster up
KUBECONFIG=$($BIN/harmonia dev-cluster kubeconfig)
export KUBECONFIG
KUBECTL=$($BIN/harmonia dev-cluster build | awk '$1 == "kubectl" {print $2}')

echo
echo "== nodes"
"$KUBECTL" get nodes -o wide
echo
echo "== versions"
"$KUBECTL" version
echo
echo "Stop it with: $BIN/harmonia dev-cluster down"
