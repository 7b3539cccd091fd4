"""Re-encrypt every stored credential under the newest Fernet key: `make rotate`.

Rotation procedure: put the new key first in FERNET_KEYS (old keys after it), deploy, run this,
then drop the old keys. Each row is rewritten in its own short transaction.
"""

from __future__ import annotations

from sqlalchemy import select

from tradebot.crypto.vault import get_vault
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential


def rotate_all() -> int:
    """Re-encrypt all API keys and secrets; returns how many credentials were rewritten."""
    vault = get_vault()
    with unit_of_work() as session:
        ids = list(session.scalars(select(ApiCredential.id)))
    for credential_id in ids:
        with unit_of_work() as session:
            credential = session.get(ApiCredential, credential_id, with_for_update=True)
            if credential is None:
                continue
            credential.api_key_encrypted = vault.rotate(credential.api_key_encrypted)
            credential.api_secret_encrypted = vault.rotate(credential.api_secret_encrypted)
    return len(ids)


if __name__ == "__main__":
    print(f"re-encrypted {rotate_all()} credential(s) under the newest key")
