"""`ape run job` (scripts/job.py): post, join, solve and spec on a deployed set, and the spec file format.

The commands run in this process through click on Ape's test chain (the deployment is the session's), which
is what `ape run job ... --network ethereum:local:test` runs; one `ape run --help` checks the help Ape shows.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.chain.deploy import deploy_all
from offchain.verde.job import SpecError, VerdeJob, load_spec, spec_json
from offchain.verde.trainer import VerdeTrainer

ROOT = Path(__file__).resolve().parents[2]
SPEC = VerdeJob(steps=4, checkpoint_interval=2)  # small: every solve trains it


@pytest.fixture(scope="module")
def deployment(deployer):
    return deploy_all(deployer, fresh=True)


@pytest.fixture(scope="module")
def job_cli():
    return runpy.run_path(str(ROOT / "scripts" / "job.py"))["cli"]


def run(cli, *args: str):
    return CliRunner().invoke(cli, [*map(str, args), "--network", "ethereum:local:test"])


def test_example_spec_is_the_default_job():
    """examples/job.json, the file the docs point at, is every field of the default VerdeJob."""
    path = ROOT / "examples" / "job.json"
    assert load_spec(path) == VerdeJob()
    assert path.read_text() == spec_json(VerdeJob())


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"steps": 4, "stpes": 2}', r"unknown job fields \['stpes'\]"),
        ('{"steps": "8"}', "steps must be a whole number, not '8'"),
        ('{"lr": true}', "lr must be a number, not True"),
        ('{"betas": [0.9]}', r"betas must be a list of two numbers, not \[0.9\]"),
        ('{"steps": 0}', "steps must be at least 1, not 0"),
        ('{"width": 15}', "width 15 is not a multiple of n_head 2"),
        ("[1, 2]", "a job spec is a JSON object of VerdeJob fields, not list"),
        ('{"steps": 8,}', "not JSON"),
    ],
)
def test_bad_spec_file_is_one_line(tmp_path, text, error):
    path = tmp_path / "job.json"
    path.write_text(text)
    with pytest.raises(SpecError, match=error) as err:
        load_spec(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_spec_file_round_trips(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(spec_json(VerdeJob(seed=3, lr=1e-3, betas=(0.8, 0.99), steps=16)))
    assert load_spec(path) == VerdeJob(seed=3, lr=1e-3, betas=(0.8, 0.99), steps=16)


def test_post_join_solve_and_spec(deployment, job_cli, tmp_path):
    """A requester posts the spec's job, two solvers join and solve it, anyone checks a spec against it; bad
    input is one line and sends nothing."""
    market = deployment.JobMarket
    spec = tmp_path / "job.json"
    spec.write_text(spec_json(SPEC))

    refused = run(job_cli, "post", "--account", "TEST::1", "--spec", spec, "--payment", "0.000000000000000003")
    assert refused.exit_code == 1 and market.jobCount() == 0
    assert refused.output.startswith("Error: post a Verde job (3e-18 ETH) with its program: refused by the chain: ")
    assert "JobInvalidParams(reason=" in refused.output and refused.output.count("\n") == 1

    posted = run(job_cli, "post", "--account", "TEST::1", "--spec", spec, "--payment", "0.4", "--stake", "0.1")
    assert posted.exit_code == 0, posted.output
    job_id = market.jobCount()
    assert f"posted job {job_id}: 4 steps, 2 solver(s) to join, each staking 0.1 ETH" in posted.output

    other = run(job_cli, "join", "--account", "TEST::2", "--job-id", job_id)  # the default spec: 8 steps
    assert other.exit_code == 1 and other.output == f"Error: job {job_id}: it has 4 steps, the spec 8\n"
    assert not market.solverOf(job_id, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC").joined
    for n in (2, 3):
        joined = run(job_cli, "join", "--account", f"TEST::{n}", "--job-id", job_id, "--spec", spec)
        assert joined.exit_code == 0, joined.output
    assert "joined job 1: 2 of 2 solvers" in joined.output
    again = run(job_cli, "join", "--account", "TEST::3", "--job-id", job_id, "--spec", spec)
    assert again.exit_code == 1 and "is Running: only an Open job can be joined" in again.output

    for n in (2, 3):
        solved = run(job_cli, "solve", "--account", f"TEST::{n}", "--job-id", job_id, "--spec", spec)
        assert solved.exit_code == 0, solved.output
        assert "2 checkpoint(s) posted now, 2 of 2 on chain" in solved.output
    roots = VerdeTrainer(SPEC).train()
    solvers = list(market.solversOf(job_id))
    assert [bytes(market.checkpointOf(job_id, s, k)[0]) for s in solvers for k in (1, 2)] == [roots[2], roots[4]] * 2
    rerun = run(job_cli, "solve", "--account", "TEST::2", "--job-id", job_id, "--spec", spec)
    assert rerun.exit_code == 0 and "0 checkpoint(s) posted now, 2 of 2 on chain" in rerun.output

    out = tmp_path / "fetched.json"
    shown = run(job_cli, "spec", "--job-id", job_id, "--spec", spec, "--out", out)
    assert shown.exit_code == 0, shown.output
    assert f"job {job_id}: Running" in shown.output and "numOps 777" in shown.output
    assert f"spec {spec}: matches job {job_id}" in shown.output
    assert out.read_text() == spec.read_text()
    mismatch = run(job_cli, "spec", "--job-id", job_id)
    assert mismatch.exit_code == 1
    assert mismatch.output.splitlines()[-1].startswith(f"Error: spec the default VerdeJob is not job {job_id}'s: ")
    missing = run(job_cli, "spec", "--job-id", 999)
    assert (
        missing.exit_code == 1 and missing.output == f"Error: job 999 does not exist: this market has {job_id} job\n"
    )


def test_ape_run_lists_the_verde_commands_with_their_help():
    """`ape run --help` as a user sees it: every Verde command with its one-line help."""
    ape = Path(sys.executable).with_name("ape")
    out = subprocess.run([str(ape), "run", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    shown = [
        "challenge  Recompute a Verde job and dispute a wrong checkpoint.",
        "defend     Answer Verde disputes against a solver.",
        "job        Post, join, solve and inspect Verde jobs.",
    ]
    for line in shown:
        assert line in out.stdout


def test_empty_wallet_is_one_line_before_anything_is_sent(deployment, job_cli, accounts):
    """Every command that sends transactions checks the account first (offchain/chain/wallet.signer): an
    account with no ether is told how to fund it, and the job is not posted."""
    empty = accounts.generate_test_account()  # beyond the ten funded test accounts
    index = len(accounts) - 1
    assert accounts[index] == empty and int(empty.balance) == 0
    count = deployment.JobMarket.jobCount()
    out = run(job_cli, "post", "--account", f"TEST::{index}")
    assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
    assert out.output.startswith(f"Error: account {empty.address} has no ether") and "ape run fund" in out.output
    assert deployment.JobMarket.jobCount() == count
