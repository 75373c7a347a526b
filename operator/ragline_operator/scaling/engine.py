"""Which engine scales an EventStream's consumers: the builtin scaler or KEDA.

There is one writer of a consumer's ``replicas`` at a time. ``Builtin`` is the operator's own
scaler; ``KEDA`` hands each consumer to a KEDA ScaledObject (and so to the HPA KEDA manages);
``Auto`` picks KEDA when its ``keda.sh/v1alpha1`` API is served, else the builtin scaler. KEDA
asked for but not installed scales nothing: the operator says so rather than silently doing the
scaling another way than the user asked. Whether KEDA is served is rediscovered periodically, so
installing it later takes over without restarting the operator.
"""

from __future__ import annotations

from ragline_operator.models.eventstream import ScalingEngine

KEDA_GROUP_VERSION = "keda.sh/v1alpha1"


def effective_engine(requested: ScalingEngine, *, keda_served: bool) -> ScalingEngine | None:
    """The engine that writes replicas: Builtin, KEDA, or None (KEDA asked for, not installed)."""
    if requested is ScalingEngine.BUILTIN:
        return ScalingEngine.BUILTIN
    if keda_served:
        return ScalingEngine.KEDA
    return ScalingEngine.BUILTIN if requested is ScalingEngine.AUTO else None
