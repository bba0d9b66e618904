"""`ape run deploy` and the deployment records it keeps per network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from offchain.chain.deploy import DeployConfig, deploy_all, deployments_file, load_deployment

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["IdentityRegistry", "SwarmCoordinator", "JobMarket", "Crowdfund", "OpAdjudicator", "VerdeReferee"]


def test_deploy_all_then_again_reuses_everything(deployer, chain):
    """A second deployment on the same chain reuses every contract and records the same addresses."""
    first = deploy_all(deployer, fresh=True)
    assert first.deployed == NAMES
    second = deploy_all(deployer)
    assert second.reused == NAMES and second.deployed == []
    assert {n: c.address for n, c in first.contracts.items()} == {n: c.address for n, c in second.contracts.items()}
    record = json.loads(deployments_file().read_text())
    assert record["chain_id"] == chain.chain_id
    assert record["contracts"]["JobMarket"]["address"] == first.JobMarket.address
    assert load_deployment().Crowdfund.address == first.Crowdfund.address


def test_deploy_all_wires_contracts_together(deployer):
    """The coordinator reads the deployed registry and the crowdfund funds jobs on the deployed market."""
    d = deploy_all(deployer, config=DeployConfig(stage_durations=(30, 40, 50)), fresh=True)
    assert d.SwarmCoordinator.registry() == d.IdentityRegistry.address
    assert list(d.SwarmCoordinator.stageDurations()) == [30, 40, 50]
    assert d.Crowdfund.MARKET() == d.JobMarket.address
    assert d.JobMarket.hasRole(d.JobMarket.DEFAULT_ADMIN_ROLE(), deployer)
    assert d.JobMarket.hasRole(d.JobMarket.DISPUTE_ROLE(), d.VerdeReferee)  # disputes settle through the referee
    assert d.VerdeReferee.adjudicator() == d.OpAdjudicator.address


def test_deploy_fresh_flag_deploys_new_set(deployer):
    """`fresh=True` ignores the record and deploys new contracts."""
    first = deploy_all(deployer, fresh=True)
    again = deploy_all(deployer, fresh=True)
    assert again.deployed == NAMES
    assert again.IdentityRegistry.address != first.IdentityRegistry.address


def test_ape_run_deploy_script_succeeds():
    """`ape run deploy` on the test network deploys the set and prints every address."""
    ape = Path(sys.executable).with_name("ape")
    out = subprocess.run(
        [str(ape), "run", "deploy", "--network", "ethereum:local:test", "--account", "TEST::0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for name in NAMES:
        assert name in out.stdout
    assert "recorded in" in out.stdout


def test_verde_and_swarm_scripts_refuse_a_chain_without_deployment(tmp_path):
    """`ape run challenge` on a chain where nothing is deployed stops with a clear error and sends nothing."""
    ape = Path(sys.executable).with_name("ape")
    out = subprocess.run(
        [str(ape), "run", "challenge", "--job-id", "1", "--network", "ethereum:local:test", "--account", "TEST::7"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "VERDE_DEPLOYMENTS_DIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode != 0
    assert "run `ape run deploy` first" in out.stderr + out.stdout


def test_deploy_again_with_other_settings_refuses_and_keeps_the_record(deployer):
    """Re-running deploy with other settings used to reuse the old contracts and record the new values; it now
    refuses, names what changed, and leaves the record describing what is on chain."""
    from offchain.chain.deploy import DeployError

    deploy_all(deployer, fresh=True)
    before = deployments_file().read_text()
    with pytest.raises(DeployError, match=r"stage_durations \[60, 60, 60\] -> \[30, 30, 30\].*--fresh"):
        deploy_all(deployer, config=DeployConfig(stage_durations=(30, 30, 30)))
    assert deployments_file().read_text() == before
    again = deploy_all(deployer, config=DeployConfig(stage_durations=(30, 30, 30)), fresh=True)
    assert list(again.SwarmCoordinator.stageDurations()) == [30, 30, 30]
    assert json.loads(deployments_file().read_text())["config"]["stage_durations"] == [30, 30, 30]


def test_deploy_records_go_to_the_working_directory(deployer, tmp_path, monkeypatch):
    """Without $VERDE_DEPLOYMENTS_DIR the record is `deployments/` of the directory `ape run` runs in, where
    `load_deployment` finds it again (it was the folder beside offchain/, whichever checkout that was)."""
    monkeypatch.delenv("VERDE_DEPLOYMENTS_DIR")
    monkeypatch.chdir(tmp_path)
    assert deployments_file() == tmp_path / "deployments" / "ethereum-local-test.json"
    first = deploy_all(deployer, fresh=True)
    assert json.loads(deployments_file().read_text())["contracts"]["JobMarket"]["address"] == first.JobMarket.address
    assert load_deployment().JobMarket.address == first.JobMarket.address
