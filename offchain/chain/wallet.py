"""What the long-running commands (node, deploy, challenge, defend) check about the wallet before they start.

    require_gas_money(account)                 # WalletError: this account cannot pay for a single transaction
    sign_unattended(account)                   # WalletError: no passphrase to unlock it without a person
    @autosign_option()                         # the CLIs' `--autosign` flag
    @signer("The solver.")                     # --account and --autosign, both checked before the command runs

An Ape keyfile account asks `Sign:` before every transaction, which stops a node in the middle of a round.
`--autosign` unlocks it once at start with the passphrase from `APE_ACCOUNTS_<alias>_PASSPHRASE` (Ape's own
variable), or asks for it once when a terminal is there, and then signs every transaction the command sends.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
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
    # Ape warns "Using cached key for <alias>" at every signature: for a node, a line per transaction that says
    # nothing the "Danger!" line at unlock did not.
    import logging

    logging.getLogger("ape").addFilter(lambda record: not record.getMessage().startswith("Using cached key for"))


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


def signer(help_text: str) -> Callable:
    """Ape's `--account` (with a help text, which Ape's lacks) and `--autosign`, for an `ape run` command that
    sends transactions. Before the command's body runs, the account is unlocked if asked and must hold some
    ether; either failure is one line (click's `Error: ...`) and nothing is sent."""
    from ape.cli import account_option

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def checked(*args: Any, autosign: bool = False, **kwargs: Any) -> Any:
            from ape import networks

            try:
                if autosign:
                    sign_unattended(kwargs["account"])
                require_gas_money(kwargs["account"], local=is_local(networks.provider))
            except WalletError as err:
                raise click.ClickException(str(err)) from None
            return f(*args, **kwargs)

        checked = autosign_option()(checked)
        checked = account_option()(checked)
        checked.__click_params__[-1].help = help_text
        return checked

    return decorate
