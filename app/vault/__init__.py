"""The encrypted vault: SQLCipher database, its key, migrations and the DB thread."""

from app.vault.db import Vault
from app.vault.keys import KeyMode, KeyPlan

__all__ = ["KeyMode", "KeyPlan", "Vault"]
