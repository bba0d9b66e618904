"""`ape run deploy --rollup` and `deploy_rollup`: the rollup's L1 contracts deployed, wired, given their roles and
recorded beside the system's contracts; the output dispute game starts from the L2 genesis output and holds the
oracle's DISPUTE_ROLE, and its committee is set once.

Run: `.venv/bin/ape test tests/rollup/l1/test_rollup_deploy.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from offchain.chain.deploy import (
    ROLLUP_NAMES,
    DeployError,
    RollupConfig,
    deploy_all,
    deploy_rollup,
    deployments_file,
    load_deployment,
)
from rollup.node import DEFAULT_GENESIS, open_node
from rollup.rpc.api import METHODS, Api

ROOT = Path(__file__).resolve().parents[3]


def _node_genesis_output() -> bytes:
    """What the L2 node itself serves as block 0's output root (`optimism_outputAtBlock`)."""
    import rollup.rpc.server  # noqa: F401  (registers every method)

    sequencer = open_node(DEFAULT_GENESIS, None, block_time=0, producing=False)
    try:
        root = METHODS["optimism_outputAtBlock"](Api(sequencer, client_version="t"), ["0x0"])["outputRoot"]
    finally:
        sequencer.chain.store.close()
    return bytes.fromhex(root[2:])


def _genesis_variant(tmp_path: Path, **changes) -> Path:
    """rollup/genesis.json with top-level fields changed (another L2)."""
    genesis = json.loads(DEFAULT_GENESIS.read_text())
    genesis.update(changes)
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(genesis))
    return path


@pytest.fixture(autouse=True)
def _own_deployments_dir(tmp_path, monkeypatch):
    """Each test its own deployments folder: Ape rewinds the chain after a test, not the records written."""
    monkeypatch.setenv("VERDE_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))


def test_deploy_rollup_wires_settings_and_roles(deployer, alice, bob, carol):
    """The portal proves against the deployed oracle; the settings are the config's; the named proposers and
    batcher hold their roles and the deployer is admin."""
    config = RollupConfig(submission_interval=4, finalization_period_s=90, proof_maturity_delay_s=45)
    d = deploy_rollup(deployer, config=config, proposers=(alice.address, bob.address), batchers=(carol.address,))
    assert d.deployed == list(ROLLUP_NAMES)
    oracle, portal, inbox = d.L2OutputOracle, d.RollupPortal, d.BatchInbox
    assert portal.L2_ORACLE() == oracle.address and portal.PROOF_MATURITY_DELAY_SECONDS() == 45
    assert (oracle.SUBMISSION_INTERVAL(), oracle.FINALIZATION_PERIOD_SECONDS()) == (4, 90)
    assert oracle.PROPOSER_BOND() == config.proposer_bond_wei and oracle.nextBlockNumber() == 4
    assert oracle.hasRole(oracle.PROPOSER_ROLE(), alice) and oracle.hasRole(oracle.PROPOSER_ROLE(), bob)
    assert not oracle.hasRole(oracle.PROPOSER_ROLE(), deployer)
    assert inbox.hasRole(inbox.BATCHER_ROLE(), carol)
    admin = oracle.DEFAULT_ADMIN_ROLE()
    assert oracle.hasRole(admin, deployer) and inbox.hasRole(admin, deployer)


def test_deploy_rollup_wires_the_output_dispute_game(deployer, eve):
    """The game disputes the deployed oracle's outputs (it alone holds DISPUTE_ROLE), agrees on the L2 genesis
    output the node serves as its starting root, has the config's bond, clock and arities, and no committee."""
    config = RollupConfig(dispute_bond_wei=5 * 10**16, dispute_clock_s=600)
    d = deploy_rollup(deployer, config=config, fresh=True)
    oracle, game = d.L2OutputOracle, d.OutputDispute
    assert game.oracle() == oracle.address
    assert game.STARTING_OUTPUT_ROOT() == _node_genesis_output()
    assert (game.CHALLENGER_BOND(), game.CLOCK_SECONDS(), game.arity()) == (5 * 10**16, 600, (16, 16))
    assert oracle.hasRole(oracle.DISPUTE_ROLE(), game) and not oracle.hasRole(oracle.DISPUTE_ROLE(), deployer)
    assert game.hasRole(game.DEFAULT_ADMIN_ROLE(), deployer) and not game.hasRole(game.DEFAULT_ADMIN_ROLE(), eve)
    assert game.committee() == ([], 0)
    record = json.loads(deployments_file().read_text())
    assert record["contracts"]["OutputDispute"]["address"] == game.address
    assert record["rollup_config"]["starting_output_root"] == "0x" + _node_genesis_output().hex()
    assert "genesis" not in record["rollup_config"]  # a path: the same L2 from another checkout is no change


def test_deploy_rollup_sets_the_committee_once(deployer, alice, bob, carol):
    """The committee is set when asked, not again when a rerun asks for the same one (each call is a new epoch),
    and again for another; a bad committee is refused before anything is sent."""
    members = (alice.address, bob.address, carol.address)
    game = deploy_rollup(deployer, committee=members, committee_threshold=2, fresh=True).OutputDispute
    assert game.committee() == (list(members), 2)
    nonce = deployer.nonce
    deploy_rollup(deployer, committee=members, committee_threshold=2)
    assert deployer.nonce == nonce
    deploy_rollup(deployer, committee=members[:2], committee_threshold=2)
    assert game.committee() == (list(members[:2]), 2) and deployer.nonce == nonce + 1
    for bad, threshold, match in (
        (members, 4, "threshold must be 1..3"),
        ((alice.address, alice.address), 1, "distinct"),
        ((), 2, "needs committee members"),
    ):
        with pytest.raises(DeployError, match=match):
            deploy_rollup(deployer, committee=bad, committee_threshold=threshold, fresh=True)
    assert deployer.nonce == nonce + 1


def test_a_record_from_before_the_game_gets_one_for_its_oracle(deployer):
    """A rollup set recorded before OutputDispute was part of it (no game, no dispute settings) keeps its three
    contracts; the game is deployed for the recorded oracle and gets its DISPUTE_ROLE."""
    first = deploy_rollup(deployer, fresh=True)
    path = deployments_file()
    record = json.loads(path.read_text())
    del record["contracts"]["OutputDispute"]
    for key in ("starting_output_root", "dispute_bond_wei", "dispute_clock_s", "blocks_arity", "txs_arity"):
        del record["rollup_config"][key]
    path.write_text(json.dumps(record))
    again = deploy_rollup(deployer)
    assert again.reused == list(ROLLUP_NAMES[:3]) and again.deployed == ["OutputDispute"]
    assert again.OutputDispute.address != first.OutputDispute.address
    assert again.OutputDispute.oracle() == first.L2OutputOracle.address
    assert first.L2OutputOracle.hasRole(first.L2OutputOracle.DISPUTE_ROLE(), again.OutputDispute)
    assert json.loads(path.read_text())["rollup_config"]["dispute_clock_s"] == RollupConfig().dispute_clock_s


def test_deploy_rollup_with_another_genesis(deployer, tmp_path):
    """Another L2 genesis is another starting output root: refused against the recorded set unless fresh. A
    genesis that is not the oracle's starting block and time is refused before anything is sent."""
    deploy_rollup(deployer, fresh=True)
    other = _genesis_variant(tmp_path, extraData="0x01")
    with pytest.raises(DeployError, match=r"starting_output_root 0x[0-9a-f]{64} -> 0x[0-9a-f]{64}.*--fresh"):
        deploy_rollup(deployer, config=RollupConfig(genesis=other))
    game = deploy_rollup(deployer, config=RollupConfig(genesis=other), fresh=True).OutputDispute
    assert game.STARTING_OUTPUT_ROOT() != _node_genesis_output()
    nonce = deployer.nonce
    late = _genesis_variant(tmp_path, timestamp="0x10")
    with pytest.raises(DeployError, match="genesis in .* is block 0 at timestamp 16"):
        deploy_rollup(deployer, config=RollupConfig(genesis=late), fresh=True)
    assert deployer.nonce == nonce


def test_deploy_rollup_defaults_to_the_deployer_and_reuses(deployer):
    """Without addresses the deployer proposes and batches; a second run reuses all three and records the same
    addresses."""
    first = deploy_rollup(deployer, fresh=True)
    assert first.L2OutputOracle.hasRole(first.L2OutputOracle.PROPOSER_ROLE(), deployer)
    assert first.BatchInbox.hasRole(first.BatchInbox.BATCHER_ROLE(), deployer)
    again = deploy_rollup(deployer)
    assert again.reused == list(ROLLUP_NAMES) and again.deployed == []
    assert {n: c.address for n, c in first.contracts.items()} == {n: c.address for n, c in again.contracts.items()}
    record = json.loads(deployments_file().read_text())
    settings = {k: v for k, v in json.loads(json.dumps(asdict(RollupConfig()), default=str)).items() if k != "genesis"}
    assert record["rollup_config"] == {**settings, "starting_output_root": "0x" + _node_genesis_output().hex()}
    assert record["contracts"]["RollupPortal"]["address"] == first.RollupPortal.address


def test_rollup_and_system_sets_share_the_record(deployer, alice, chain):
    """Each set's deployment keeps the other set's entries that are still on chain: a rollup set recorded before
    the chain was rewound is dropped (so `load_deployment` still loads), a live one is kept."""
    with chain.isolate():
        deploy_rollup(alice, fresh=True)  # another deployer: other addresses than the system's below
    system = deploy_all(deployer)
    assert not set(ROLLUP_NAMES) & set(json.loads(deployments_file().read_text())["contracts"])
    rollup = deploy_rollup(deployer)
    assert deploy_all(deployer).reused == list(system.contracts)
    loaded = load_deployment()
    assert loaded.RollupPortal.address == rollup.RollupPortal.address
    assert loaded.JobMarket.address == system.JobMarket.address
    record = json.loads(deployments_file().read_text())
    assert "config" in record and "rollup_config" in record


def test_deploy_rollup_with_other_settings_refuses(deployer):
    """Other settings against a recorded rollup set are refused (naming the change) unless fresh."""
    deploy_rollup(deployer, fresh=True)
    with pytest.raises(DeployError, match=r"finalization_period_s 60 -> 5.*--fresh"):
        deploy_rollup(deployer, config=RollupConfig(finalization_period_s=5))
    fresh = deploy_rollup(deployer, config=RollupConfig(finalization_period_s=5), fresh=True)
    assert fresh.L2OutputOracle.FINALIZATION_PERIOD_SECONDS() == 5


@pytest.mark.slow
def test_ape_run_deploy_rollup_script_succeeds(tmp_path):
    """`ape run deploy --rollup` deploys the four contracts with the options' settings (a committee too) and
    records them."""
    ape = Path(sys.executable).with_name("ape")
    proposer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    out = subprocess.run(
        [str(ape), "run", "deploy", "--rollup", "--submission-interval", "3", "--proposer", proposer,
         "--committee", proposer, "--committee-threshold", "1",
         "--network", "ethereum:local:test", "--account", "TEST::0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "VERDE_DEPLOYMENTS_DIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    for name in ROLLUP_NAMES:
        assert name in out.stdout
    record = json.loads((tmp_path / "ethereum-local-test.json").read_text())
    assert record["rollup_config"]["submission_interval"] == 3
    assert set(ROLLUP_NAMES) <= set(record["contracts"])
    bad = subprocess.run(
        [str(ape), "run", "deploy", "--rollup", "--proposer", "nope", "--network", "ethereum:local:test",
         "--account", "TEST::0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "VERDE_DEPLOYMENTS_DIR": str(tmp_path)},
    )  # fmt: skip
    assert bad.returncode != 0 and "'nope' is not an address" in bad.stderr + bad.stdout
