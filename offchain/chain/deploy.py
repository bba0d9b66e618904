"""Deploy the contract set to any network Ape reaches, and remember it per network.

`ape run deploy` calls `deploy_all`; `ape run deploy --rollup` calls `deploy_rollup`, which deploys the rollup's
L1 contracts (L2OutputOracle, RollupPortal, BatchInbox, OutputDispute: docs/rollup.md, "Settlement on L1:
contracts") instead.
Addresses go to `deployments/<ecosystem>-<network>-<provider>.json` in the working directory (or
`$VERDE_DEPLOYMENTS_DIR`), with the chain id and genesis hash; both sets can live in one record, and deploying one
keeps the other's entries. A later run on the same chain reuses every contract whose code is still there and whose
`version()` matches, and deploys only what is missing. A fresh chain (another genesis hash, or the code gone) gets a
fresh set.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class DeployError(RuntimeError):
    """A deployment request that cannot be honoured as asked (the CLI prints it as one line)."""


@dataclass(frozen=True)
class DeployConfig:
    """Constructor settings for a deployment (defaults suit the local demo and tests)."""

    stage_durations: tuple[int, ...] = (60, 60, 60)  # seconds per swarm stage: answer, critique, vote
    max_reward_per_question: int = 100  # upper bound of one question's reward (reward units, not wei)
    max_questions_per_round: int = 64  # upper bound of questions a reward commitment may cover
    admin: str | None = None  # governance address for admin roles; the deployer when None
    verde_bond_wei: int = 10**16  # the bond a challenger posts to open a dispute (a defender posts none)
    verde_clock_s: int = 3_600  # each dispute party's chess clock
    verde_reward_bps: int = 5_000  # share of a losing solver's stake that goes to the winner


@dataclass(frozen=True)
class RollupConfig:
    """Constructor settings of the rollup's L1 contracts (defaults: a short demo on rollup/genesis.json's L2)."""

    submission_interval: int = 10  # L2 blocks between two outputs
    l2_block_time: int = 1  # the least seconds between two L2 block timestamps (our sequencer's spacing)
    starting_block_number: int = 0  # the L2 block outputs count from: rollup/genesis.json's genesis
    starting_timestamp: int = 0  # that block's L2 timestamp (rollup/genesis.json: 0)
    finalization_period_s: int = 60  # seconds before an undisputed output is final (OP mainnet: 7 days)
    proof_maturity_delay_s: int = 30  # seconds between proving a withdrawal and finalizing it
    proposer_bond_wei: int = 10**16  # the bond posted with every output
    # The L2's genesis file: the dispute game's starting output root is its genesis block's output root.
    genesis: Path = field(default_factory=lambda: _default_genesis())
    dispute_bond_wei: int = 10**17  # the bond a challenger posts to open an output dispute
    dispute_clock_s: int = 3_600  # each side's chess clock per dispute, and the committee's
    blocks_arity: int = 16  # the output dispute's block bisection arity
    txs_arity: int = 16  # its transaction bisection arity


ROLLUP_NAMES = ("L2OutputOracle", "RollupPortal", "BatchInbox", "OutputDispute")
# Recorded settings an older record may lack: it was made before OutputDispute was deployed with the set.
_DISPUTE_SETTINGS = ("starting_output_root", "dispute_bond_wei", "dispute_clock_s", "blocks_arity", "txs_arity")


def _default_genesis() -> Path:
    # Imported here: rollup.node loads py-evm, which the system set's deployment never needs.
    from rollup.node import DEFAULT_GENESIS

    return DEFAULT_GENESIS


@dataclass
class Deployment:
    """The deployed set on one chain."""

    contracts: dict[str, Any] = field(default_factory=dict)  # name -> Ape ContractInstance
    reused: list[str] = field(default_factory=list)  # names found on chain and kept
    deployed: list[str] = field(default_factory=list)  # names deployed by this run

    def __getattr__(self, name: str) -> Any:
        try:
            return self.contracts[name]
        except KeyError:
            raise AttributeError(name) from None


def deployments_dir() -> Path:
    """`$VERDE_DEPLOYMENTS_DIR` (tests use a temporary folder), else `deployments/` in the working directory: the
    project `ape run` runs in. It was found next to this file, so records went to whichever checkout the package
    was installed from, not to the project the user deployed from."""
    return Path(os.environ.get("VERDE_DEPLOYMENTS_DIR") or Path.cwd() / "deployments")


def deployments_file(provider: Any | None = None) -> Path:
    """The deployments file for the connected network."""
    if provider is None:
        from ape import chain

        provider = chain.provider
    network = provider.network
    return deployments_dir() / f"{network.ecosystem.name}-{network.name}-{provider.name}.json"


def _constructors(config: DeployConfig, admin: str) -> list[tuple[str, Callable[[dict[str, Any]], list[Any]]]]:
    """Contracts in deployment order, each with a function of the earlier ones giving its arguments."""
    return [
        ("IdentityRegistry", lambda done: []),
        (
            "SwarmCoordinator",
            lambda done: [
                done["IdentityRegistry"].address,
                admin,
                list(config.stage_durations),
                config.max_reward_per_question,
                config.max_questions_per_round,
            ],
        ),
        ("JobMarket", lambda done: [admin]),
        ("Crowdfund", lambda done: [done["JobMarket"].address]),
        ("OpAdjudicator", lambda done: []),
        (
            "VerdeReferee",
            lambda done: [
                done["JobMarket"].address,
                done["OpAdjudicator"].address,
                admin,
                config.verde_bond_wei,
                config.verde_clock_s,
                config.verde_reward_bps,
            ],
        ),
    ]


def deploy_all(deployer: Any, *, config: DeployConfig = DeployConfig(), fresh: bool = False) -> Deployment:  # noqa: B008
    """Deploy (or reuse) the whole contract set and record it in the network's deployments file.

    Parameters
    ----------
    deployer
        The Ape account that pays for and sends the deployments.
    config
        Constructor settings.
    fresh
        Ignore any recorded deployment of this set and deploy it anew.

    Returns
    -------
    Deployment
        The contract instances and which of them were reused or deployed.
    """
    from ape import chain

    path = deployments_file()
    record = _load_record(path, chain)
    _check_settings(path, None if fresh else record.get("config"), _settings(config))
    admin = config.admin or deployer.address
    known = {} if fresh else record.get("contracts", {})
    out = _deploy_set(deployer, _constructors(config, admin), known, chained=False)
    _grant_dispute_role(out, deployer)
    _write_record(path, _merged_record(record, chain, "config", _settings(config), out))
    return out


def deploy_rollup(
    deployer: Any,
    *,
    config: RollupConfig = RollupConfig(),  # noqa: B008
    proposers: tuple[str, ...] = (),
    batchers: tuple[str, ...] = (),
    committee: tuple[str, ...] = (),
    committee_threshold: int = 0,
    fresh: bool = False,
) -> Deployment:
    """Deploy (or reuse) the rollup's L1 contracts, grant their roles, and record them in the network's deployments
    file beside whatever else is recorded there.

    The deployer holds DEFAULT_ADMIN_ROLE of the oracle, the inbox and the output dispute game; the game holds the
    oracle's DISPUTE_ROLE. Its starting output root is the output root of the L2 genesis block in
    `config.genesis`, whose number and timestamp must be the oracle's starting block and timestamp.

    Parameters
    ----------
    deployer
        The Ape account that pays for and sends the deployments.
    config
        Constructor settings.
    proposers
        Addresses given the oracle's PROPOSER_ROLE; the deployer when empty.
    batchers
        Addresses given the inbox's BATCHER_ROLE; the deployer when empty.
    committee
        The dispute game's attestor committee, set (a new epoch) unless it is already the one in force; when empty
        none is set, and a dispute opened while the game has no committee can only expire.
    committee_threshold
        The signatures the committee needs (1..len(committee)); with `committee` only.
    fresh
        Ignore any recorded deployment of the rollup set and deploy it anew.

    Returns
    -------
    Deployment
        The four contracts and which of them were reused or deployed.
    """
    from ape import chain

    _check_committee(committee, committee_threshold)  # before anything is sent
    path = deployments_file()
    record = _load_record(path, chain)
    settings = _rollup_settings(config)
    known = {} if fresh else record.get("contracts", {})
    # A record from before the game was part of the set lacks its settings; the game is deployed now with these.
    optional = _DISPUTE_SETTINGS if "OutputDispute" not in known else ()
    _check_settings(path, None if fresh else record.get("rollup_config"), settings, optional=optional)
    constructors = _rollup_constructors(config, deployer.address, bytes.fromhex(settings["starting_output_root"][2:]))
    # chained: a new oracle needs a new portal and game (their oracle is immutable); the inbox is independent but
    # cheap.
    out = _deploy_set(deployer, constructors, known, chained=True)
    oracle, inbox, game = (out.contracts[name] for name in ("L2OutputOracle", "BatchInbox", "OutputDispute"))
    _grant(oracle, oracle.PROPOSER_ROLE(), proposers or (deployer.address,), deployer)
    _grant(inbox, inbox.BATCHER_ROLE(), batchers or (deployer.address,), deployer)
    _grant(oracle, oracle.DISPUTE_ROLE(), (game.address,), deployer)
    if committee:
        _set_committee(game, committee, committee_threshold, deployer)
    _write_record(path, _merged_record(record, chain, "rollup_config", settings, out))
    return out


def _rollup_settings(config: RollupConfig) -> dict[str, Any]:
    """What is recorded and compared for the rollup set: the constructor settings, with the genesis file replaced
    by the starting output root computed from it (the same L2 from another path, or another checkout, is not a
    change; another genesis is)."""
    settings = {k: v for k, v in asdict(config).items() if k != "genesis"}
    root = genesis_output_root(config.genesis, config.starting_block_number, config.starting_timestamp)
    return {**settings, "starting_output_root": "0x" + root.hex()}


def genesis_output_root(genesis: Path, starting_block_number: int = 0, starting_timestamp: int = 0) -> bytes:
    """OP's output root of the L2 genesis block in `genesis` (rollup/output.py), read from an in-memory chain.

    Raises DeployError unless the genesis block is the oracle's starting block at its starting timestamp: the
    game agrees on this root as the state before output 0, and the oracle dates outputs from that block.
    """
    from rollup.node import open_node
    from rollup.output import output_at

    if not Path(genesis).is_file():
        raise DeployError(f"no L2 genesis file at {genesis}")
    sequencer = open_node(Path(genesis), None, block_time=0, producing=False)
    try:
        header = sequencer.chain.genesis_header
        if (header.block_number, header.timestamp) != (starting_block_number, starting_timestamp):
            raise DeployError(
                f"the oracle starts at L2 block {starting_block_number}, timestamp {starting_timestamp}, but the "
                f"genesis in {genesis} is block {header.block_number} at timestamp {header.timestamp}"
            )
        return output_at(sequencer.chain, header).root
    finally:
        sequencer.chain.store.close()


def _check_committee(members: tuple[str, ...], threshold: int) -> None:
    """The game's own rules (OutputDisputeBadCommitteeSetup), refused before a deployment is half done."""
    from ape import convert
    from ape.types import AddressType

    if not members:
        if threshold:
            raise DeployError("a committee threshold needs committee members (--committee)")
        return
    addresses = [convert(m, AddressType) for m in members]
    if len(set(addresses)) != len(addresses) or any(int(a, 16) == 0 for a in addresses):
        raise DeployError("committee members must be distinct non-zero addresses")
    if len(addresses) > 32:
        raise DeployError(f"a committee has at most 32 members (OutputDispute.MAX_COMMITTEE), not {len(addresses)}")
    if not 1 <= threshold <= len(addresses):
        raise DeployError(f"the committee threshold must be 1..{len(addresses)} (its members), not {threshold}")


def _set_committee(game: Any, members: tuple[str, ...], threshold: int, deployer: Any) -> None:
    """Set the committee unless it is the one in force: each setCommittee opens a new epoch, and rerunning the same
    deployment must not."""
    current, current_threshold = game.committee()
    if [m.lower() for m in current] == [m.lower() for m in members] and current_threshold == threshold:
        return
    if not game.hasRole(game.DEFAULT_ADMIN_ROLE(), deployer.address):
        raise DeployError(f"{deployer.address} is not the admin of OutputDispute at {game.address}: its admin sets "
                          "the committee")  # fmt: skip
    game.setCommittee(list(members), threshold, sender=deployer)


def _rollup_constructors(
    config: RollupConfig, admin: str, starting_output_root: bytes
) -> list[tuple[str, Callable[[dict[str, Any]], list[Any]]]]:
    return [
        (
            "L2OutputOracle",
            lambda done: [
                config.submission_interval,
                config.l2_block_time,
                config.starting_block_number,
                config.starting_timestamp,
                config.finalization_period_s,
                config.proposer_bond_wei,
                admin,
            ],
        ),
        ("RollupPortal", lambda done: [done["L2OutputOracle"].address, config.proof_maturity_delay_s]),
        ("BatchInbox", lambda done: [admin]),
        (
            "OutputDispute",
            lambda done: [
                done["L2OutputOracle"].address,
                admin,
                starting_output_root,
                config.dispute_bond_wei,
                config.dispute_clock_s,
                config.blocks_arity,
                config.txs_arity,
            ],
        ),
    ]


def _settings(config: Any) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(config)))


def _check_settings(
    path: Path, recorded: dict[str, Any] | None, wanted: dict[str, Any], *, optional: tuple[str, ...] = ()
) -> None:
    """Refuse to reuse contracts recorded with other constructor settings: recording these would describe what is
    not on chain. Keys in `optional` may be missing from the record (no recorded contract used them)."""
    if recorded is not None:
        recorded = {**{k: wanted[k] for k in optional if k not in recorded}, **recorded}
    if recorded is not None and recorded != wanted:
        changed = ", ".join(f"{k} {recorded.get(k)} -> {v}" for k, v in wanted.items() if recorded.get(k) != v)
        raise DeployError(f"the deployment recorded for this chain in {path} was made with other settings "
                          f"({changed}): deploy a new set with --fresh, or drop the changed options")  # fmt: skip


def _deploy_set(
    deployer: Any,
    constructors: list[tuple[str, Callable[[dict[str, Any]], list[Any]]]],
    known: dict[str, Any],
    *,
    chained: bool,
) -> Deployment:
    """Reuse each recorded contract that is still there, deploy the others; with `chained`, every contract after
    one deployed anew is deployed anew too (it may point at the earlier ones)."""
    from ape import chain, project

    out = Deployment()
    for name, args in constructors:
        contract_type = getattr(project, name)
        instance = None if (chained and out.deployed) else _reusable(contract_type, known.get(name), chain)
        if instance is not None:
            out.reused.append(name)
        else:
            instance = deployer.deploy(contract_type, *args(out.contracts))
            out.deployed.append(name)
        out.contracts[name] = instance
    return out


def _merged_record(
    record: dict[str, Any], chain: Any, key: str, settings: dict[str, Any], out: Deployment
) -> dict[str, Any]:
    """The record with this set's settings and contracts, keeping the other set's entries that are still on chain
    (a recorded contract that is gone would make `load_deployment` refuse the whole record)."""
    from ape import project

    contracts = {
        name: known
        for name, known in record.get("contracts", {}).items()
        if name not in out.contracts and _reusable(getattr(project, name), known, chain) is not None
    }
    contracts.update({name: {"address": c.address, "version": c.version()} for name, c in out.contracts.items()})
    merged = {k: v for k, v in record.items() if k not in ("chain_id", "genesis", "contracts", key)}
    return {
        "chain_id": chain.chain_id,
        "genesis": chain.blocks[0].hash.hex(),
        key: settings,
        **merged,
        "contracts": contracts,
    }


def _grant(contract: Any, role: bytes, accounts: tuple[str, ...], deployer: Any) -> None:
    """Grant `role` to each of `accounts` that lacks it (the deployer is the contract's admin)."""
    for account in accounts:
        if not contract.hasRole(role, account):
            contract.grantRole(role, account, sender=deployer)


def _grant_dispute_role(out: Deployment, deployer: Any) -> None:
    """The referee settles disputes on the market: give it DISPUTE_ROLE once. With a separate governance
    admin, governance grants it instead (the deployer cannot)."""
    market, referee = out.contracts["JobMarket"], out.contracts["VerdeReferee"]
    role = market.DISPUTE_ROLE()
    if not market.hasRole(role, referee.address) and market.hasRole(market.DEFAULT_ADMIN_ROLE(), deployer.address):
        market.grantRole(role, referee.address, sender=deployer)


def load_deployment() -> Deployment:
    """The recorded deployment of the connected network (raises if there is none on this chain)."""
    from ape import chain, project

    path = deployments_file()
    record = _load_record(path, chain)
    if not record:
        raise FileNotFoundError(f"no deployment for this chain in {path}: run `ape run deploy` first")
    out = Deployment()
    for name, known in record["contracts"].items():
        instance = _reusable(getattr(project, name), known, chain)
        if instance is None:
            raise FileNotFoundError(f"{name} at {known['address']} is gone: run `ape run deploy` again")
        out.contracts[name] = instance
        out.reused.append(name)
    return out


def load_deployment_for_cli() -> Deployment:
    """`load_deployment` for the `ape run` scripts: a chain without a deployment is a click error (a clear
    message and a non-zero exit), not a traceback."""
    import click

    try:
        return load_deployment()
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from err


def _load_record(path: Path, chain: Any) -> dict[str, Any]:
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    same_chain = record.get("chain_id") == chain.chain_id and record.get("genesis") == chain.blocks[0].hash.hex()
    return record if same_chain else {}


def _reusable(contract_type: Any, known: dict[str, Any] | None, chain: Any) -> Any | None:
    """The recorded instance when its code is on chain and its version is the one built here."""
    if not known or not chain.provider.get_code(known["address"]):
        return None
    instance = contract_type.at(known["address"])
    expected = _source_version(contract_type)
    return instance if instance.version() == expected else None


def _source_version(contract_type: Any) -> str:
    """The `version` constant this build declares, read from the contract's source file."""
    from ape import project

    source = Path(project.path) / contract_type.contract_type.source_id
    match = _VERSION_RE.search(source.read_text())
    assert match, f"{source} declares no `string public constant version`"
    return match.group(1)


_VERSION_RE = re.compile(r'string\s+public\s+constant\s+version\s*=\s*"([^"]+)"')


def _write_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)  # never a half-written deployments file
