"""Secret values kept out of diffs while a changed value still shows as changed.

Applied after comparing, just before the text is rendered. A value the same on both
sides reads `***`; a changed one `*** (before)` / `*** (after)`, kubectl diff's and
Flux's `SanitizeUnstructuredData` convention; an added or removed key `***`. Pure.
"""

from __future__ import annotations

from reconciler.diff.fields import same_json
from reconciler.render.model import KubeObject
from reconciler.render.secrets.masking import MASK, SECRET_VALUE_FIELDS, is_secret, mask_secret

MASK_BEFORE = f"{MASK} (before)"
MASK_AFTER = f"{MASK} (after)"


def mask_secret_values(
    before: KubeObject | None, after: KubeObject | None
) -> tuple[KubeObject | None, KubeObject | None]:
    """Both sides with every Secret value masked (other kinds come back unchanged)."""
    if before is None or after is None:
        return (
            None if before is None else _mask_all(before),
            None if after is None else _mask_all(after),
        )
    masked_before, masked_after = _mask_all(before), _mask_all(after)
    if is_secret(before) and is_secret(after):
        for field in SECRET_VALUE_FIELDS:
            old, new = before.get(field), after.get(field)
            shown_old, shown_new = masked_before.get(field), masked_after.get(field)
            if (
                isinstance(old, dict)
                and isinstance(new, dict)
                and isinstance(shown_old, dict)
                and isinstance(shown_new, dict)
            ):
                for key in old.keys() & new.keys():
                    if not same_json(old[key], new[key]):
                        shown_old[key], shown_new[key] = MASK_BEFORE, MASK_AFTER
    return masked_before, masked_after


def _mask_all(obj: KubeObject) -> KubeObject:
    return mask_secret(obj)
