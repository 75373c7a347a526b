"""Products: a tenant's menu, with a leased Redis cache in front of single-product reads."""
