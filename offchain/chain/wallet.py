"""What the long-running commands (node, deploy, challenge, defend) check about the wallet before they start.

    require_gas_money(account)                 # WalletError: this account cannot pay for a single transaction
    sign_unattended(account)                   # WalletError: no passphrase to unlock it without a person
    @autosign_option()                         # the CLIs' `--autosign` flag

An Ape keyfile account asks `Sign:` before every transaction, which stops a node in the middle of a round.
`--autosign` unlocks it once at start with the passphrase from `APE_ACCOUNTS_<alias>_PASSPHRASE` (Ape's own
variable), or asks for it once when a terminal is there, and then signs every transaction the command sends.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click


class WalletError(RuntimeError):
    """The account cannot do what the command needs; the CLIs print it as one line."""


def passphrase_variable(account: Any) -> str:
    """The environment variable Ape reads the account's passphrase from."""
    return f"APE_ACCOUNTS_{getattr(account, 'alias', '<alias>')}_PASSPHRASE"


def sign_unattended(account: Any) -> None:
    """Unlock `account` once and let it sign without asking; a no-op for accounts that never ask (test accounts)."""
    if not hasattr(account, "set_autosign"):
        return
    var = passphrase_variable(account)
    if var not in os.environ and not sys.stdin.isatty():
        # Ape would prompt on a stdin nobody types into and read an empty passphrase three times.
        raise WalletError(f"--autosign needs the passphrase of {account.alias}: set {var}, or run in a terminal")
    try:
        account.set_autosign(True)
    except Exception as err:  # ape raises InvalidPasswordError or AccountsError; both mean the same to the user
        raise WalletError(f"cannot unlock {account.alias} ({type(err).__name__}): check {var}") from None


def require_gas_money(account: Any, *, local: bool) -> None:
    """Refuse to start with an account that holds no ether: its first transaction would fail half-way."""
    if int(account.balance) > 0:
        return
    how = (
        f"fund it from a test account: `ape run fund --network ethereum:local:node --to {account.address}`"
        if local
        else "send it some of the network's ether first"
    )
    raise WalletError(f"account {account.address} has no ether to pay for gas; {how}")


def autosign_option():
    """`--autosign`, for commands that run unattended with a keyfile account."""
    return click.option(
        "--autosign",
        is_flag=True,
        default=False,
        help="Unlock the account once at start (passphrase from APE_ACCOUNTS_<alias>_PASSPHRASE, or asked once) "
        "and sign every transaction without asking.",
    )


def is_local(provider: Any) -> bool:
    """Whether the connected network is a local development chain (anvil, Ape's test chain)."""
    return getattr(getattr(provider, "network", None), "name", "") == "local"
