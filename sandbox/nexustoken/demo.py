"""Demo data (placeholder until the emulator lands)."""


def seed() -> dict:
    return {}
