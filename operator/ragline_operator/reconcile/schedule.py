"""When a periodic tick should run a full reconcile.

Kopf's timer ticks every few seconds and costs nothing when it decides not to act. A resource
that is not Ready is reconciled every ``progress`` seconds (to notice pods becoming ready), a
Ready one every ``resync`` seconds (to put back children someone edited or deleted).
"""

from __future__ import annotations


def full_pass_due(
    *,
    last_pass: float | None,
    ready: bool,
    now: float,
    progress_seconds: float,
    resync_seconds: float,
) -> bool:
    """Whether a full reconcile is due at monotonic time ``now``."""
    if last_pass is None:
        return True
    period = resync_seconds if ready else progress_seconds
    return now - last_pass >= period
