"""A hostile commit reusing SOPS ciphertext tokens, rendered with the real sops and helm.

An `ENC[...]` token is bound by sops to its file and key path; Harmonia puts a decrypted
value only where sops decrypted it. A token copied into a plain file (a values file, the
configValues of a plain release file, an object a kustomize patch dresses as a SOPS
file) stays ciphertext: it never becomes the plaintext of the file it was taken from,
for that release or any other. No cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from reconciler.desired import DesiredState
from reconciler.render.secrets.sops_decryption import SopsSettings
from reconciler.sops import encrypted_leaves
from tests.render.test_pipeline import write_repository
from tests.render.test_sops_manifests import KUSTOMIZED
from tests.render.test_sops_manifests import desired as manifests_desired
from tests.render.test_sops_manifests import release as manifest_release
from tests.render.test_sops_render import OTHER, WEB, Canaries, desired, release_file
from tests.sops_files import AgeKey, encrypted, sops_binary

LEAKING_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: leaky\nversion: 0.1.0\n",
    "values.yaml": "apiToken: none\nleak: none\n",
    "templates/objects.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  apiToken: {{ .Values.apiToken | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-leak
data:
  leak: {{ .Values.leak | quote }}
""",
}


def _token_of(text: str) -> str:
    (leaf,) = encrypted_leaves(yaml.safe_load(text))
    return leaf.token


def test_a_token_copied_into_a_plain_values_file_or_release_file_stays_ciphertext(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    secret_file = encrypted(f"apiToken: {canaries.token}\n", key)
    token = _token_of(secret_file)
    web = yaml.safe_load(release_file("web", values_files=("values/web.yaml", "values/plain.yaml")))
    other = yaml.safe_load(release_file("other"))
    other["configValues"]["leak"] = token
    files = {f"charts/app/{name}": text for name, text in LEAKING_CHART.items()}
    files.update(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "values/web.yaml": secret_file,
            # The hostile commit: web's own token, copied into a plain file web reads.
            "values/plain.yaml": yaml.safe_dump({"leak": token}),
            "releases/web.yaml": yaml.safe_dump(web),
            # And into another release's plain configValues.
            "releases/other.yaml": yaml.safe_dump(other),
        }
    )
    root = write_repository(tmp_path / "repo", files)

    state = desired(
        root, helm_binary, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file)
    )

    assert not state.render.failed, state.render.failed
    for release in (WEB, OTHER):
        by_name = {o["metadata"]["name"]: o for o in state.render.rendered[release].objects}
        assert by_name[f"{release.split('/')[1]}-leak"]["data"] == {"leak": token}
        assert canaries.token not in json.dumps(by_name[f"{release.split('/')[1]}-leak"])
    web_objects = {o["metadata"]["name"]: o for o in state.render.rendered[WEB].objects}
    assert web_objects["web-db"]["stringData"] == {"apiToken": canaries.token}


def test_a_kustomize_patch_dressing_a_config_map_as_a_sops_file_gets_no_plaintext(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    secret = encrypted(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
        f"stringData:\n  password: {canaries.password}\n",
        key,
        encrypted_regex="^stringData$",
    )
    document = yaml.safe_load(secret)
    token = document["stringData"]["password"]
    # The hostile commit: the Secret's token in a plain ConfigMap (no SOPS metadata, so
    # sops never checks it), and a patch giving it SOPS metadata.
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "stringData": {"password": token},
        "data": {"leak": token},
    }
    patch = {
        **config_map,
        "sops": {"mac": "forged", "version": "3.13.3"},
        "stringData": {},
        "data": {},
    }
    files = {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        "charts/kust/secret.yaml": secret,
        "charts/kust/settings.yaml": yaml.safe_dump(config_map),
        "charts/kust/patch.yaml": yaml.safe_dump(patch),
        "charts/kust/kustomization.yaml": (
            "resources: [secret.yaml, settings.yaml]\npatches:\n- path: patch.yaml\n"
        ),
        "releases/kustomized.yaml": manifest_release("kustomized", "kust", "shop"),
    }
    root = write_repository(tmp_path / "repo", files)

    state = manifests_desired(
        root, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file)
    )

    assert not state.render.failed, state.render.failed
    objects = {o["kind"]: o for o in state.render.rendered[KUSTOMIZED].objects}
    assert objects["Secret"]["stringData"] == {"password": canaries.password}
    assert canaries.password not in json.dumps(objects["ConfigMap"])
    assert objects["ConfigMap"]["data"] == {"leak": token}


def test_a_copied_token_overriding_its_own_value_is_never_answered_from_the_render_cache(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    secret_file = encrypted(f"apiToken: {canaries.token}\n", key)
    token = _token_of(secret_file)
    files = {f"charts/app/{name}": text for name, text in LEAKING_CHART.items()}
    files.update(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "values/web.yaml": secret_file,
            "values/plain.yaml": yaml.safe_dump({"apiToken": token}),
            "releases/web.yaml": release_file("web", values_files=("values/web.yaml",)),
        }
    )
    root = write_repository(tmp_path / "repo", files)
    sops = SopsSettings(sops_binary(), key.identity_file)
    first = desired(root, helm_binary, tmp_path / "cache", sops)
    # The same merged ciphertext, but the plain file now has the last word.
    (root / "releases/web.yaml").write_text(
        release_file("web", values_files=("values/web.yaml", "values/plain.yaml"))
    )

    second = desired(root, helm_binary, tmp_path / "cache", sops)

    def secret_of(state: DesiredState) -> object:
        return next(o for o in state.render.rendered[WEB].objects if o["kind"] == "Secret")

    assert secret_of(first)["stringData"] == {"apiToken": canaries.token}  # type: ignore[index]
    assert secret_of(second)["stringData"] == {"apiToken": token}  # type: ignore[index]
