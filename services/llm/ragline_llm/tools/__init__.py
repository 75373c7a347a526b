"""The chat tools: retrieve_menu, apply_promos and confirm, and how calls are run and recorded."""
