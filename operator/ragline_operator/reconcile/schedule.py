"""When a periodic tick should run a full reconcile.

Kopf's timer ticks every few seconds and costs nothing when it decides not to act. A resource
that is not Ready is reconciled every ``progress`` seconds (to notice pods becoming ready), a
Ready one every ``resync`` seconds (to put back children someone edited or deleted), and any
resource at once when something it references changed (a Secret, a source ConfigMap).
"""

from __future__ import annotations


def full_pass_due(
    *,
    last_pass: float | None,
    ready: bool,
    now: float,
    progress_seconds: float,
    resync_seconds: float,
    requested: bool = False,
) -> bool:
    """Whether a full reconcile is due at monotonic time ``now`` (or was asked for)."""
    if last_pass is None or requested:
        return True
    period = resync_seconds if ready else progress_seconds
    return now - last_pass >= period
