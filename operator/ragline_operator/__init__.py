"""RAGline Kopf operator: reconciles TenantConfig, EventStream and RagPipeline resources."""
