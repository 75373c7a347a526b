"""RAGline API service: tenants, products, orders and the transactional outbox."""
