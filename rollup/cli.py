"""What the rollup's processes (node, batcher, proposer, verifier, committee) share on their command lines: the
signing key and the log set-up."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from eth_account import Account


def setup_logging(verbose: bool) -> None:
    """Log lines on stderr: INFO and up with -v, WARNING and up without."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


def load_key(account: str | None, key_file: Path | None, *, what: str, variable: str | None = None) -> Any:
    """A process's signing key: an Ape account (keyfile alias, passphrase from APE_ACCOUNTS_<alias>_PASSPHRASE or
    asked once; or TEST::N), a file holding a hex private key, or $`variable` (when given)."""
    if account is not None:
        from ape import accounts  # slow to import: only when asked for

        if account.upper().startswith("TEST::"):
            return Account.from_key(accounts.test_accounts[int(account[6:])].private_key)
        try:
            keyfile = accounts.load(account).keyfile
        except KeyError as err:
            raise click.ClickException(str(err).strip("'\"")) from None
        passphrase_variable = f"APE_ACCOUNTS_{account}_PASSPHRASE"
        passphrase = os.environ.get(passphrase_variable)
        if passphrase is None:
            if not sys.stdin.isatty():
                raise click.ClickException(f"the passphrase of {account}: set {passphrase_variable} or use a terminal")
            passphrase = click.prompt(f"Passphrase of {account}", hide_input=True, err=True)
        try:
            return Account.from_key(Account.decrypt(keyfile, passphrase))
        except ValueError:
            raise click.ClickException(f"cannot unlock {account}: wrong passphrase") from None
    text = key_file.read_text().strip() if key_file is not None else os.environ.get(variable or "", "")
    if not text:
        where = f", or set {variable}" if variable else ""
        raise click.ClickException(f"no {what} key: --account ALIAS or --key-file FILE{where}")
    try:
        return Account.from_key(text)
    except Exception as err:
        raise click.ClickException(f"the {what} key is not a private key: {err}") from None
