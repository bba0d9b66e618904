"""The `ape run` scripts' command class: Ape's ConnectedProviderCommand, with a chain that is not there
reported as one line.

    @click.command(cls=ChainCommand)
    @account_option()
    def cli(account): ...

Ape connects before the script's code runs; when nothing answers at the network's URL, `ape-node` tries to
start a geth of its own and the user reads a 40-line traceback ending in "No node found and 'ape-node' is
unable to start one". Here that becomes `Error: no chain answers for --network ethereum:local:node (...)`,
exit 1, with how to start the local one.
"""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand


class ChainCommand(ConnectedProviderCommand):
    def invoke(self, ctx: click.Context) -> Any:
        choice = ctx.params.get("network")
        self._connected = False
        try:
            return super().invoke(ctx)
        except Exception as err:
            if self._connected or not _connection_failure(err):
                raise
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            name, uri = _describe(choice)
            hint = "; start the local one with `make chain`" if ":local:" in name else ""
            raise click.ClickException(f"no chain answers at {uri} (--network {name}: {first}){hint}") from None

    def _invoke(self, ctx: click.Context, provider: Any = None) -> Any:
        self._connected = True  # from here on errors are the script's, and keep their own report
        return super()._invoke(ctx, provider=provider)


def _connection_failure(err: Exception) -> bool:
    from ape.exceptions import ProviderError, ProviderNotConnectedError

    try:
        from ape_node.provider import NodeSoftwareNotInstalledError
    except ImportError:  # ape-node not installed: only Ape's own provider errors
        NodeSoftwareNotInstalledError = ProviderError  # noqa: N806
    return isinstance(err, (ProviderError, ProviderNotConnectedError, NodeSoftwareNotInstalledError, ConnectionError))


def _describe(choice: Any) -> tuple[str, str]:
    """The network choice and the URL it was to be reached at, as the user would write them."""
    if choice is None or isinstance(choice, str):
        return str(choice or "the default network"), "its URL"
    try:
        name = choice.network_choice
    except Exception:  # a provider that cannot say without a connection
        name = type(choice).__name__
    uri = (getattr(choice, "provider_settings", None) or {}).get("uri")
    if not uri:
        try:
            uri = choice.uri
        except Exception:
            uri = "its URL"
    return str(name), str(uri)
