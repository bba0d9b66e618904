"""Deploy the contract set to any network Ape reaches, and remember it per network.

`ape run deploy` calls `deploy_all`. Addresses go to `deployments/<ecosystem>-<network>-<provider>.json`
in the working directory (or `$VERDE_DEPLOYMENTS_DIR`), with the chain id and genesis hash; a later run on
the same chain reuses every contract whose code is still there and whose `version()` matches, and deploys
only what is missing. A fresh chain (another genesis hash, or the code gone) gets a fresh set.
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
        Ignore any recorded deployment and deploy everything anew.

    Returns
    -------
    Deployment
        The contract instances and which of them were reused or deployed.
    """
    from ape import chain, project

    path = deployments_file()
    record = {} if fresh else _load_record(path, chain)
    recorded = record.get("config")
    wanted = json.loads(json.dumps(asdict(config)))
    if recorded is not None and recorded != wanted:
        # Reusing contracts built with other settings while recording these would describe what is not on chain.
        changed = ", ".join(f"{k} {recorded.get(k)} -> {v}" for k, v in wanted.items() if recorded.get(k) != v)
        raise DeployError(f"the deployment recorded for this chain in {path} was made with other settings "
                          f"({changed}): deploy a new set with --fresh, or drop the changed options")  # fmt: skip
    admin = config.admin or deployer.address
    out = Deployment()
    for name, args in _constructors(config, admin):
        contract_type = getattr(project, name)
        known = record.get("contracts", {}).get(name)
        instance = _reusable(contract_type, known, chain)
        if instance is not None:
            out.reused.append(name)
        else:
            instance = deployer.deploy(contract_type, *args(out.contracts))
            out.deployed.append(name)
        out.contracts[name] = instance
    _grant_dispute_role(out, deployer)

    record = {
        "chain_id": chain.chain_id,
        "genesis": chain.blocks[0].hash.hex(),
        "config": asdict(config),
        "contracts": {
            name: {"address": c.address, "version": c.version()} for name, c in out.contracts.items()
        },
    }
    _write_record(path, record)
    return out


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
