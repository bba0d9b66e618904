"""The `verde` provider: ape_node's Node (JSON-RPC over HTTP to a running node) plus the dev methods of our L2
node started with `python -m rollup.node --dev` (rollup/rpc/node_methods.py):

    snapshot      evm_snapshot               the head's number
    restore       evm_revert                 rewinds the chain to that block (history is dropped, not replayed)
    set_timestamp evm_setNextBlockTimestamp
    mine          evm_mine

Where it connects: `uri` under `verde:` in ape-config.yaml or the environment variable APE_VERDE_URI, else the
network's entry under `node:` (node: ethereum: l2: uri:), so both providers reach the same node by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ape.exceptions import APINotImplementedError, ProviderError
from ape.logging import logger
from ape_node.provider import EthereumNodeConfig, Node
from pydantic_settings import SettingsConfigDict

if TYPE_CHECKING:
    from ape.types import SnapshotID

NOT_DEV = "the L2 node does not answer {method}: start it with `python -m rollup.node --dev` ({err})"


class VerdeConfig(EthereumNodeConfig):
    """`verde:` in ape-config.yaml (optional): the `node:` section's settings, and `uri`."""

    uri: str | None = None
    """The node's URL; overrides `node: ethereum: l2: uri:` for this provider. Also APE_VERDE_URI."""

    model_config = SettingsConfigDict(extra="allow", env_prefix="APE_VERDE_")


class VerdeNode(Node):
    NAME = "verde"
    name: str = "verde"

    @property
    def _network_config(self) -> dict:
        # Ape's Node looks for `<ecosystem>: <network>: uri:` in its own config section; ours falls back to the
        # `node:` section's, which is where ape-config.yaml keeps the L2's address.
        if own := super()._network_config:
            return own
        node = self.config_manager.get_config("node").model_dump(by_alias=True)
        return (node.get(self.network.ecosystem.name) or {}).get(self.network.name) or {}

    def _dev_request(self, method: str, params: list) -> object:
        try:
            return self.make_request(method, params)
        except (APINotImplementedError, ProviderError) as err:
            if not isinstance(err, APINotImplementedError) and "--dev" not in str(err):
                raise  # a refused argument, e.g. a timestamp not after the head's
            # Without --dev the node refuses these; Ape's isolation would then turn itself off with a generic
            # warning, so name the cause here.
            message = NOT_DEV.format(method=method, err=err)
            logger.error(message)
            raise APINotImplementedError(message) from err

    def snapshot(self) -> SnapshotID:
        return self._dev_request("evm_snapshot", [])

    def restore(self, snapshot_id: SnapshotID):
        if isinstance(snapshot_id, bytes):
            snapshot_id = "0x" + snapshot_id.hex()
        if not self._dev_request("evm_revert", [snapshot_id]):
            raise ProviderError(f"cannot revert to snapshot {snapshot_id}: it is after the head")

    def set_timestamp(self, new_timestamp: int):
        self._dev_request("evm_setNextBlockTimestamp", [new_timestamp])

    def mine(self, num_blocks: int = 1):
        for _ in range(num_blocks):
            self._dev_request("evm_mine", [])
