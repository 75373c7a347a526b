"""Pure builders of the manifests the operator applies: a frozen context in, a dict out."""
