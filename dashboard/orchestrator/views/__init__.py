"""The Nexical orchestrator pages, one module per area."""
