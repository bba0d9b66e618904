"""Generate rollup/genesis.json: the default genesis our L2 node ships (go-ethereum format, read by
rollup/genesis.py's `Genesis.load`).

Chain id 685686, every fork up to Prague active from block 0, a 30M gas limit, an `optimism` config object (the
node then takes OP Stack deposit transactions), the OP Stack predeploys this node implements (contracts/rollup:
L2ToL1MessagePasser at 0x4200..0016, L1Block at 0x4200..0015) with their runtime bytecode as solc compiles them, and
the ten public development accounts of the "test ... junk" mnemonic with 10,000 ETH each. The output depends only on
this file and the two contracts' sources, so it is checked in and checked for staleness:

    .venv/bin/python tools/gen_l2_genesis.py           # rewrite rollup/genesis.json
    .venv/bin/python tools/gen_l2_genesis.py --check   # exit 1 if rollup/genesis.json is stale

tests/rollup/test_l2_genesis.py asserts the file equals this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import generated  # noqa: E402

OUT = ROOT / "rollup" / "genesis.json"

# One above the Gensyn testnet's 685685, so a wallet never takes one chain for the other.
CHAIN_ID = 685686
GAS_LIMIT = 30_000_000
# 1 gwei, go-ethereum's and py-evm's initial London base fee (rollup/genesis.py reads it).
BASE_FEE = 10**9
# Fixed so the file is reproducible. 0 works only while the node stamps later blocks with wall-clock time (a block
# needs a later timestamp than its parent, nothing more); OP's rule of genesis time + n * block time would not.
TIMESTAMP = 0
# The well-known development mnemonic (Ape's TEST::i, anvil's and Hardhat's defaults): public keys, never real funds.
MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS = 10
DEV_BALANCE = 10_000 * 10**18
# OP Stack predeploy addresses, so OP tooling finds our contracts where it looks for its own.
PREDEPLOYS = {
    "L1Block": "0x4200000000000000000000000000000000000015",
    "L2ToL1MessagePasser": "0x4200000000000000000000000000000000000016",
}
# go-ethereum's block-numbered forks, all at genesis: the L2 has no pre-merge history to replay.
BLOCK_FORKS = (
    "homesteadBlock",
    "eip150Block",
    "eip155Block",
    "eip158Block",
    "byzantiumBlock",
    "constantinopleBlock",
    "petersburgBlock",
    "istanbulBlock",
    "muirGlacierBlock",
    "berlinBlock",
    "londonBlock",
    "arrowGlacierBlock",
    "grayGlacierBlock",
    "mergeNetsplitBlock",
)
TIME_FORKS = ("shanghaiTime", "cancunTime", "pragueTime")
SOURCES = {
    "L1Block": "contracts/rollup/L1Block.sol",
    "L2ToL1MessagePasser": "contracts/rollup/L2ToL1MessagePasser.sol",
}
# The compiler and settings of ape-config.yaml, given to solc here with only the predeploys' own sources: Ape's
# output also depends on what else it compiled in the same run (the import remappings in the metadata hash), so
# the genesis would change with the build history. The test checks that Ape's code differs only in that hash.
SOLC_VERSION = "0.8.37"
SOLC_SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "viaIR": False,
    "outputSelection": {"*": {"*": ["evm.deployedBytecode.object"]}},
}
# Recent go-ethereum refuses a config that schedules Cancun or Prague with no blobSchedule entry for it; the values
# are mainnet's (EIP-4844, EIP-7691). py-evm has them built in and rollup/genesis.py ignores this key.
BLOB_SCHEDULE = {
    "cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477},
    "prague": {"target": 6, "max": 9, "baseFeeUpdateFraction": 5007716},
}


# OP Stack genesis files carry an `optimism` object; with it rollup/genesis.py runs the chain with deposit
# transactions (type 0x7E, rollup/deposits.py). The EIP-1559 parameters restate Ethereum's (elasticity 2,
# denominator 8), which is what the node computes; OP's own chains use 6 and 50/250.
OPTIMISM = {"eip1559Elasticity": 2, "eip1559Denominator": 8, "eip1559DenominatorCanyon": 8}


def dev_accounts() -> list[str]:
    """The checksummed addresses of m/44'/60'/0'/0/i for i < DEV_ACCOUNTS."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").address for i in range(DEV_ACCOUNTS)]


def runtime_code() -> dict[str, str]:
    """The deployed bytecode of each predeploy, by contract name, compiled by solc from a fixed input."""
    import solcx

    sources = {path: {"content": (ROOT / path).read_text()} for path in sorted(SOURCES.values())}
    standard_input = {"language": "Solidity", "sources": sources, "settings": SOLC_SETTINGS}
    output = solcx.compile_standard(standard_input, solc_version=SOLC_VERSION)
    code = {}
    for name, path in SOURCES.items():
        hex_code = output["contracts"][path][name]["evm"]["deployedBytecode"]["object"]
        if not hex_code:
            raise RuntimeError(f"{name}: solc gave no runtime bytecode")
        code[name] = "0x" + hex_code
    return code


def genesis() -> dict[str, Any]:
    config: dict[str, Any] = {"chainId": CHAIN_ID}
    config |= {key: 0 for key in BLOCK_FORKS}
    config["terminalTotalDifficulty"] = 0
    config |= {key: 0 for key in TIME_FORKS}
    config["blobSchedule"] = BLOB_SCHEDULE
    config["optimism"] = OPTIMISM
    code = runtime_code()
    alloc: dict[str, Any] = {}
    for name, address in sorted(PREDEPLOYS.items(), key=lambda item: item[1]):
        alloc[address] = {"balance": "0x0", "code": code[name]}
    for address in dev_accounts():
        alloc[address] = {"balance": hex(DEV_BALANCE)}
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(TIMESTAMP),
        "extraData": "0x",
        "gasLimit": hex(GAS_LIMIT),
        "difficulty": "0x0",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "baseFeePerGas": hex(BASE_FEE),
        "number": "0x0",
        "alloc": alloc,
    }


def render() -> str:
    return json.dumps(genesis(), indent=2) + "\n"


def main() -> int:
    return generated.main(OUT, render, __doc__.splitlines()[0], "tools/gen_l2_genesis.py")


if __name__ == "__main__":
    sys.exit(main())
