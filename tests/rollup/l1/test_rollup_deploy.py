"""`ape run deploy --rollup` and `deploy_rollup`: the rollup's L1 contracts deployed, wired, given their roles and
recorded beside the system's contracts.

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

ROOT = Path(__file__).resolve().parents[3]


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
    assert record["rollup_config"] == json.loads(json.dumps(asdict(RollupConfig())))
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
    """`ape run deploy --rollup` deploys the three contracts with the options' settings and records them."""
    ape = Path(sys.executable).with_name("ape")
    proposer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    out = subprocess.run(
        [str(ape), "run", "deploy", "--rollup", "--submission-interval", "3", "--proposer", proposer,
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
