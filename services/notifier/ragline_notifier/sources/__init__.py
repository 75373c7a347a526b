"""Streams the notifier reads, behind one :class:`~ragline_notifier.sources.base.StreamSource`."""
