"""The one door from the workers to the connected chain: what offchain/verde and offchain/swarm read from the
chain and the errors its transactions raise, over Ape's provider.

The workers (verde, swarm) import this module, never `ape` or `web3` themselves (docs/architecture.md; `make
lint` and `make test` check it with import-linter), so that the rollup's L2 node or another client library can
stand behind the same functions. Contract objects the workers are handed (a JobMarket, a VerdeReferee) are Ape's
and are used through their ABI methods only.

    from offchain.chain import client
    if client.pending_timestamp() > deadline: ...
    try:
        referee.bisect(did, root, sender=me)
    except client.TransactionError as err:     # a refused or reverted transaction (Ape's class)
        ...

Ape is imported on first use, not at import time: importing a worker module stays cheap and needs no network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

# Ape's exception class, handed out lazily by __getattr__ below (PEP 562).
_APE_EXCEPTIONS = ("TransactionError",)


def __getattr__(name: str) -> Any:
    if name in _APE_EXCEPTIONS:
        import ape.exceptions

        return getattr(ape.exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pending_timestamp() -> int:
    """The timestamp the next block will have: what a deadline check in a transaction sent now compares to."""
    from ape import chain

    return int(chain.pending_timestamp)


def head_timestamp() -> int:
    """The latest mined block's timestamp."""
    from ape import chain

    return int(chain.blocks.head.timestamp)


def head_number() -> int:
    """The latest mined block's number."""
    from ape import chain

    return int(chain.blocks.head.number)


def chain_id() -> int:
    from ape import chain

    return int(chain.chain_id)


def is_local() -> bool:
    """Whether the connected network is a local development chain (anvil, Ape's test chain)."""
    from ape import networks

    from offchain.chain.wallet import is_local as provider_is_local

    return provider_is_local(networks.provider)


def calls_to(address: Any, first_block: int, last_block: int) -> list[tuple[str, int]]:
    """(sender, gas used) of every transaction to `address` mined in blocks first_block..last_block, in chain
    order (a dispute's moves, read back from the blocks: events say what happened, not who paid for it)."""
    from ape import chain
    from eth_utils import to_checksum_address

    # Read through web3, not Ape's block model: Ape refuses the deposit transactions (type 0x7E) that open every
    # block of our L2, and would fail on the whole block.
    w3 = chain.provider.web3
    target = to_checksum_address(str(getattr(address, "address", address)))
    out = []
    for number in range(first_block, last_block + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx.get("to") and to_checksum_address(tx["to"]) == target:
                receipt = w3.eth.get_transaction_receipt(tx["hash"])
                out.append((to_checksum_address(receipt["from"]), int(receipt["gasUsed"])))
    return out


def test_account(index: int) -> Any:
    """Account `index` of the test mnemonic (anvil's and Ape's funded accounts on a local chain)."""
    from ape import accounts

    return accounts.test_accounts[index]


@contextlib.contextmanager
def connected(rpc: str, *, quiet: bool = True) -> Iterator[None]:
    """Connect to the JSON-RPC node at `rpc` for the block (a worker started outside `ape run`). `quiet` keeps
    Ape's per-transaction lines out of the worker's own progress output.

    A node with the chain id of a network in ape-config.yaml's `networks: custom:` (our L2, `ethereum:l2`) is
    reached through that network, any other through `ethereum:local`: on the L2 the local network's habit of
    sending every transaction with the block's whole gas limit would skip the L2's gas margin (ape-config.yaml)."""
    from ape import networks
    from ape.logging import logger

    from offchain.chain.anvil import json_rpc

    if quiet:
        logger.set_level("WARNING")
    network = _custom_network(int(json_rpc(rpc, "eth_chainId", timeout=30), 16)) or networks.ethereum.local
    with network.use_provider("node", provider_settings={"uri": rpc}):
        yield


def _custom_network(chain_id: int) -> Any | None:
    """The Ethereum network ape-config.yaml defines for `chain_id`, if any. Only the custom ones: a public
    testnet reached by `--rpc` keeps the local network it has always had."""
    from ape import config, networks

    for custom in config.get_config("networks").custom:
        if custom.ecosystem == "ethereum" and custom.chain_id == chain_id:
            return networks.ethereum.get_network(custom.name)
    return None
