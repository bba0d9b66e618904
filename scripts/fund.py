"""Send ether from one of the local chain's funded test accounts to any address: `ape run fund`.

    ape run fund --network ethereum:local:node --to 0xYourWallet              # 10 ETH from TEST::0
    ape run fund --network ethereum:local:node --to 0xYourWallet --eth 2 --from-index 9

For a wallet of your own (`ape accounts generate`/`import`) on `make chain`'s anvil, which funds only its
ten test accounts. Refused on any network that is not local: there test ether has no owner to give it.
"""

from __future__ import annotations

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.wallet import is_local


@click.command(cls=ChainCommand)
@click.option("--to", "to", required=True, help="Address that receives the ether.")
@click.option("--eth", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="How much ether to send.")  # fmt: skip
@click.option("--from-index", type=click.IntRange(0, 9), default=0, show_default=True,
              help="Which funded test account pays.")  # fmt: skip
def cli(provider, to: str, eth: float, from_index: int) -> None:
    from ape import accounts, convert
    from ape.types import AddressType

    if not is_local(provider):
        raise click.ClickException(f"{provider.network.name} is not a local chain: fund the wallet from a faucet")
    try:
        address = convert(to, AddressType)
    except Exception:  # ape raises ConversionError subclasses for anything that is not an address
        raise click.ClickException(f"--to {to}: not an address") from None
    sender = accounts.test_accounts[from_index]
    sender.transfer(address, int(eth * 10**18))
    click.echo(f"sent {eth:g} ETH from {sender.address} to {address}; it now holds "
               f"{int(provider.get_balance(address)) / 10**18:g} ETH")  # fmt: skip
