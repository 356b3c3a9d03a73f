"""NexusToken money: credits, Stripe top-up, the purchase ledger, budgets, usage charts, reputation."""
