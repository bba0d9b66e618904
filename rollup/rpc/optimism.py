"""optimism_outputAtBlock, as OP's rollup node serves it: the output root of an L2 block and its preimage (what
a proposer posts and what a withdrawal prover needs next to eth_getProof)."""

from __future__ import annotations

from typing import Any

from rollup.output import OUTPUT_VERSION, output_at
from rollup.rpc import encode
from rollup.rpc.api import Api, method
from rollup.rpc.params import arg, positional, quantity


@method("optimism_outputAtBlock")
def output_at_block(api: Api, params: Any) -> dict[str, Any]:
    (number,) = positional(params, required=1)
    number = arg(0, lambda v: quantity(v, "block number"), number)
    header = api.block_header(encode.q(number))
    output = output_at(api.chain, header)
    return {
        "version": encode.d(OUTPUT_VERSION),
        "outputRoot": encode.d(output.root),
        "blockRef": {
            "hash": encode.d(header.hash),
            "number": header.block_number,
            "parentHash": encode.d(header.parent_hash),
            "timestamp": header.timestamp,
        },
        "withdrawalStorageRoot": encode.d(output.message_passer_storage_root),
        "stateRoot": encode.d(header.state_root),
    }
