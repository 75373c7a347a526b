"""The only package that talks to the Kubernetes API (besides Kopf's own watching)."""
