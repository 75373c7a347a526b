"""One reconcile pass per kind: read through k8s, decide through reconcile, apply builders.

Not in STYLE.md's list: handlers stay thin (Kopf only) and reconcile/ stays pure, so the I/O
sequencing of a pass needs a home of its own.
"""
