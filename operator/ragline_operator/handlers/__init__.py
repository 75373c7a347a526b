"""Kopf handlers, one thin module per kind; importing a module registers its handlers."""
