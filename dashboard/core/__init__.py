"""What every page shares: middleware, the typed request, the page layer, home, health, errors."""
