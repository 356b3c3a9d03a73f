"""The simulated processing nodes' accounts, with fixed keys so the demo and the simulation share them."""

import hashlib

from .api import hash_key
from .models import Account, ApiKey
from .views_auth import create_account

NODE_COUNT = 3


def node_email(number: int) -> str:
    return f"node-{number}@nexustoken.local"


def node_key(number: int) -> str:
    return hashlib.sha256(f"nexustoken-sandbox-node-{number}".encode()).hexdigest()


def ensure_node(number: int) -> Account:
    """The node's account, created on first use (idempotent)."""
    account = Account.objects.filter(email=node_email(number)).first()
    if account is None:
        account = create_account(node_email(number), source="sandbox-node", credits=0)
    ApiKey.objects.get_or_create(
        key_hash=hash_key(node_key(number)), defaults={"account": account, "label": "node"}
    )
    return account
