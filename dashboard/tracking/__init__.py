"""Live tracking: the poller, tracked jobs with their status events and log cache, the live pages."""
