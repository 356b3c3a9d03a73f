"""Simulated activity (placeholder until the emulator lands)."""


def start(base_url: str) -> None:
    """Start the daemon threads of this API's simulated activity."""
