#!/usr/bin/env bash
# The README's demo: start the dev cluster, reconcile examples/ into it with one pass of
# `harmonia run`, print the status and the status commit it pushed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin

$BIN/harmonia dev-cluster up
KUBECONFIG=$($BIN/harmonia dev-cluster kubeconfig)
export KUBECONFIG
# The dev cluster's own kubectl, helm, sops and harmonia-renderer, for Harmonia and for you.
while read -r name path; do
  case $name in kubectl|helm|sops|harmonia-renderer) PATH=$(dirname "$path"):$PATH ;; esac
done < <($BIN/harmonia dev-cluster build 2>/dev/null)
export PATH
# shop/web reads a values file encrypted by sops for the demo key kept in examples/keys/
# (docs/secrets.md): a demo key only, public in this repository.
SOPS_AGE_KEY_FILE=$PWD/examples/keys/demo-age-key.txt
export SOPS_AGE_KEY_FILE

# examples/ as a Git repository of its own, with a bare remote, as a team would have it.
# Every demo is the same source, wherever its copy lives: a release has one owner, and
# the cluster keeps the releases of the last demo.
source_id=harmonia-demo
work=$(mktemp -d "${TMPDIR:-/tmp}/harmonia-demo.XXXXXX")
git init --quiet --bare --initial-branch=main "$work/remote.git"
cp -r examples "$work/examples"
git -C "$work/examples" init --quiet --initial-branch=main
git -C "$work/examples" add --all
git -C "$work/examples" -c user.name=demo -c user.email=demo@harmonia.invalid commit --quiet -m "Release requests for the demo"
git -C "$work/examples" remote add origin "$work/remote.git"
git -C "$work/examples" push --quiet origin main

echo
echo "== nodes and versions"
kubectl get nodes
kubectl version
echo
echo "== validate, order"
$BIN/harmonia validate "$work/examples"
$BIN/harmonia graph "$work/examples"
echo
echo "== one pass of the GitOps loop: fetch main, apply every release in dependency order,"
echo "== wait until each is Ready, commit the status to the harmonia-status branch"
$BIN/harmonia run --once --repo "$work/remote.git" --ref main --listen off --source-id $source_id
echo
echo "== status"
$BIN/harmonia status
echo
echo "== shop/web's Secret holds the demo password sops decrypted from values/shop/web-secrets.yaml"
password=$(kubectl -n shop get secret web -o jsonpath='{.data.DATABASE_PASSWORD}' | base64 -d)
[ "$password" = demo-password-from-sops ] && echo "yes" || { echo "no: not decrypted" >&2; exit 1; }
echo
echo "== the status commit on the harmonia-status branch"
git --git-dir="$work/remote.git" log -1 --stat --format='%h %an <%ae> %s' harmonia-status
git --git-dir="$work/remote.git" show harmonia-status:status/README.md
echo
echo "Try: SOPS_AGE_KEY_FILE=$SOPS_AGE_KEY_FILE harmonia diff --source-id $source_id $work/examples   (edit a release file first)"
echo "     harmonia run --repo $work/remote.git --ref main --source-id $source_id   (the loop; Ctrl-C stops it)"
echo "Stop the cluster with: $BIN/harmonia dev-cluster down"
