"""The pass: a desired state brought to the cluster, one report per release.

    run.py           reconcile(): the pass, releases started as their dependencies report
    schedule.py      when a release may start, and the gate its dependencies set
    refusals.py      releases refused before anything of theirs is written
    release_flow.py  one release's way: plan, pre-hooks, writes, prune, wait, post-hooks, record
    removal.py       releases whose files left Git, behind the removal guards
    report.py        ReleaseReport (with its failure, temporary or permanent), NextAttempt,
                     PassReport, PassOptions: what the pass says

The verbs it composes (plan, write, wait, prune, hooks, records) are in `reconciler.apply`.
"""

from reconciler.outcome import FAILING, Outcome
from reconciler.reconcile.report import PassOptions, PassReport, ReleaseReport
from reconciler.reconcile.run import reconcile

__all__ = ["FAILING", "Outcome", "PassOptions", "PassReport", "ReleaseReport", "reconcile"]
