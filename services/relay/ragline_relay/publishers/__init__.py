"""Brokers the relay publishes to, behind one :class:`~ragline_relay.publishers.base.Publisher`."""
