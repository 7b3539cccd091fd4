"""Re-seal every stored exchange key under the current wrapping key, bound to its owner:
`make rotate` locally, the rotate_keys function in AWS.

Each credential is opened (a v2 envelope under any configured key, or a legacy Fernet token
under any FERNET_KEYS key) and sealed anew as v2 with a fresh data key from KMS (KMS_KEY_ID) or
the newest local master key, bound to (user id, credential id, purpose). So this migrates Fernet
rows to v2, moves v2 rows from an older KMS key or master key to the current one, and lets the
old key be dropped afterwards. Reading accepts Fernet rows until they are rotated.

Procedure: put the new Fernet key first in FERNET_KEYS (or point KMS_KEY_ID at the new key),
deploy, run this, then drop the old key. Each row is rewritten in its own short transaction.
Moving to another KMS key (rather than KMS's own yearly rotation, which needs nothing from us):
keep kms:Decrypt on the old key for the openers until this has run.
A row that does not open for its owner (copied from another row) is not re-sealed: it is marked
invalid, as reading it would. TOTP secrets (sealed with the local master key) are re-sealed too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select

from tradebot.accounts.sealing import KeyNotBound, invalidate_unbound, open_value, seal_value
from tradebot.crypto.envelope import is_sealed
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, TwoFactor
from tradebot.twofactor.service import seal_secret, unseal_secret


@dataclass(frozen=True)
class RotationReport:
    """What a rotation did: credentials seen, re-sealed (of them from Fernet), refused."""

    credentials: int = 0
    rewritten: int = 0
    from_fernet: int = 0
    refused: int = 0
    second_factors: int = 0  # TOTP secrets re-sealed under the newest local master key

    def as_dict(self) -> dict[str, int]:
        """The counts, as the rotate_keys function returns them."""
        return asdict(self)


def rotate_all() -> RotationReport:
    """Re-seal all API keys and secrets under the current key, bound to their owners."""
    with unit_of_work() as session:
        ids = list(session.scalars(select(ApiCredential.id)))
    rewritten = from_fernet = refused = 0
    for credential_id in ids:
        with unit_of_work() as session:
            credential = session.get(ApiCredential, credential_id, with_for_update=True)
            if credential is None:
                continue
            owner = credential.user_id
            legacy = not is_sealed(credential.api_key_encrypted)
            try:
                api_key = open_value(
                    credential.api_key_encrypted,
                    owner,
                    credential.id,
                    "api_key",
                    credential.api_key_hint,
                )
                secret = open_value(
                    credential.api_secret_encrypted, owner, credential.id, "api_secret"
                )
            except KeyNotBound as error:
                invalidate_unbound(session, error)
                refused += 1
                continue
            credential.api_key_encrypted = seal_value(
                owner, credential.id, "api_key", api_key.get_secret_value()
            )
            credential.api_secret_encrypted = seal_value(
                owner, credential.id, "api_secret", secret.get_secret_value()
            )
            rewritten += 1
            from_fernet += legacy
    return RotationReport(len(ids), rewritten, from_fernet, refused, _reseal_second_factors())


def _reseal_second_factors() -> int:
    """Re-seal every TOTP secret under the newest local master key (they are sealed with the
    local key, which FERNET_KEYS derives: dropping an old key must not turn 2FA off)."""
    with unit_of_work() as session:
        user_ids = list(session.scalars(select(TwoFactor.user_id)))
    for user_id in user_ids:
        with unit_of_work() as session:
            row = session.get(TwoFactor, user_id, with_for_update=True)
            if row is not None:
                row.secret_encrypted = seal_secret(
                    user_id, unseal_secret(user_id, row.secret_encrypted)
                )
    return len(user_ids)


if __name__ == "__main__":
    report = rotate_all()
    print(
        f"re-sealed {report.rewritten} of {report.credentials} credential(s) under the current "
        f"key ({report.from_fernet} from Fernet); {report.refused} refused and marked invalid; "
        f"{report.second_factors} TOTP secret(s) re-sealed"
    )
