"""A SkipPipe run as a JobMarket job (offchain/skippipe/job.py, `ape run skippipe`, scripts/skippipe.py).

The commands run in this process through click on Ape's test chain, as tests/scripts/test_job.py runs
`ape run job`; `solve` starts a real coordinator and 4 local worker processes (2 iterations, no emulated delay).
"""

from __future__ import annotations

import json
import runpy
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.chain.deploy import deploy_all
from offchain.skippipe import job as sj
from offchain.skippipe.geo import load_links, place_nodes, regions
from offchain.skippipe.runner import RunConfig

ROOT = Path(__file__).resolve().parents[2]
NODES = [{"name": n.name, "region": n.region, "speed": n.speed, "memory": n.memory}
         for n in place_nodes(4, regions(load_links()), memory=4)]  # fmt: skip
CFG = RunConfig(nodes=NODES, shape={"stages": 4, "layers": 1, "width": 32, "n_head": 4, "context": 32},
                microbatches=4, batch=4, iterations=2, delay_scale=0.0, checkpoint_every=1)  # fmt: skip


@pytest.fixture(scope="module")
def deployment(deployer):
    return deploy_all(deployer, fresh=True)


@pytest.fixture(scope="module")
def skippipe_cli():
    return runpy.run_path(str(ROOT / "scripts" / "skippipe.py"))["cli"]


def run(cli, *args):
    return CliRunner().invoke(cli, [*map(str, args), "--network", "ethereum:local:test"])


def write(path: Path, cfg: RunConfig) -> Path:
    path.write_text(sj.spec_json(cfg))
    return path


def test_spec_hash_binds_the_config_and_nothing_else(tmp_path):
    """specHash is keccak of the canonical spec document: one number written as 0 or 0.0, a node without its
    defaults, the waiting limits and a run's plans.json do not change it; any field that changes the roots does."""
    h = sj.spec_hash(CFG)
    doc = sj.spec_document(CFG)
    assert h == sj.keccak256(sj.canonical_json(doc).encode()) and doc["corpus"] == sj.corpus_digest()
    raw = json.loads(sj.spec_json(CFG))
    raw["delay_scale"], raw["lr"] = 0, 0.003
    raw["nodes"][0] = {"name": NODES[0]["name"], "region": NODES[0]["region"], "memory": 4}  # speed: the default
    (tmp_path / "loose.json").write_text(json.dumps(raw))
    (tmp_path / "plans.json").write_text(json.dumps({"config": raw, "generations": []}))
    assert sj.spec_hash(sj.load_spec(tmp_path / "loose.json")) == h
    assert sj.spec_hash(sj.load_spec(tmp_path / "plans.json")) == h
    assert sj.spec_hash(replace(CFG, pg_timeout_s=600.0, heartbeat_timeout_s=9.0)) == h
    assert sj.load_spec(write(tmp_path / "spec.json", CFG)) == sj.normalized(CFG)
    changed = [replace(CFG, seed=1), replace(CFG, iterations=3), replace(CFG, skip_ratio=0.5),
               replace(CFG, mode="full"), replace(CFG, delay_scale=1.0), replace(CFG, nodes=NODES[::-1])]  # fmt: skip
    assert len({h, *map(sj.spec_hash, changed)}) == 1 + len(changed)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"nodes": [], "iterations": 2, "itrations": 3}', r"unknown RunConfig fields \['itrations'\]"),
        ('{"iterations": 2}', "a SkipPipe spec needs its nodes"),
        ('{"nodes": [{"name": "a"}]}', "nodes must be a list of objects with a name and a region"),
        ('{"nodes": [{"name": "a", "region": "b"}], "iterations": 2.5}', "iterations must be a whole number"),
        ('{"nodes": [{"name": "a", "region": "b"}], "lr": "1e-3"}', "lr must be a number"),
        ('{"nodes": [{"name": "a", "region": "b"}], "mode": "fast"}', "mode must be one of"),
        ("[1]", "a JSON object of RunConfig fields, not list"),
        ('{"nodes": [],}', "not JSON"),
    ],
)
def test_bad_spec_file_is_one_line(tmp_path, text, error):
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(sj.SpecError, match=error) as err:
        sj.load_spec(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_wrong_job_or_spec_is_refused_in_one_line(deployment, skippipe_cli, tmp_path, bob):
    """A job that does not exist, or whose spec is another config, is refused before anything is sent or trained."""
    market = deployment.JobMarket
    spec = write(tmp_path / "run.json", CFG)
    posted = run(skippipe_cli, "post", "--account", "TEST::1", "--spec", spec, "--solvers", 1)
    assert posted.exit_code == 0, posted.output
    job_id = market.jobCount()
    other = write(tmp_path / "other.json", replace(CFG, seed=7))
    longer = write(tmp_path / "longer.json", replace(CFG, iterations=3))
    refusals = {
        ("join", other): f"Error: job {job_id}: its specHash is not this SkipPipe config's\n",
        ("join", longer): f"Error: job {job_id}: it has 2 steps, the config 3 iterations\n",
        ("solve", other): f"Error: job {job_id}: its specHash is not this SkipPipe config's\n",
    }
    for (command, path), message in refusals.items():
        out = run(skippipe_cli, command, "--account", "TEST::2", "--job-id", job_id, "--spec", path)
        assert (out.exit_code, out.output) == (1, message)
    missing = run(skippipe_cli, "join", "--account", "TEST::2", "--job-id", job_id + 1, "--spec", spec)
    assert missing.exit_code == 1
    jobs = f"{job_id} job{'s' * (job_id > 1)}"
    assert missing.output == f"Error: job {job_id + 1} does not exist: this market has {jobs}\n"
    assert not market.solverOf(job_id, bob.address).joined
    shown = run(skippipe_cli, "spec", "--job-id", job_id, "--spec", other)
    assert shown.exit_code == 1 and "numOps 0" in shown.output
    assert shown.output.splitlines()[-1] == f"Error: spec {other} is not job {job_id}'s: its specHash is not this " \
        "SkipPipe config's"  # fmt: skip


def test_post_join_solve_posts_the_runs_roots(deployment, skippipe_cli, tmp_path, monkeypatch, bob):
    """post -> join -> solve: a 4-node run of 2 iterations (a checkpoint each), and the chain holds its roots."""
    market = deployment.JobMarket
    spec = write(tmp_path / "run.json", CFG)
    posted = run(skippipe_cli, "post", "--account", "TEST::1", "--spec", spec, "--solvers", 1, "--payment", "0.2")
    assert posted.exit_code == 0, posted.output
    job_id = market.jobCount()
    assert f"posted job {job_id}: 2 iterations over 4 nodes, a checkpoint every 1, 1 solver(s)" in posted.output
    p = market.jobOf(job_id)[0]
    assert (bytes(p[0]), int(p[1]), int(p[2]), int(p[12])) == (sj.spec_hash(CFG), 2, 1, 0)

    joined = run(skippipe_cli, "join", "--account", "TEST::2", "--job-id", job_id, "--spec", spec)
    assert joined.exit_code == 0 and f"joined job {job_id}: 1 of 1 solvers" in joined.output, joined.output

    results = []
    real_run = sj.run
    monkeypatch.setattr(sj, "run", lambda *a, **kw: results.append(real_run(*a, **kw)) or results[-1])
    solved = run(skippipe_cli, "solve", "--account", "TEST::2", "--job-id", job_id, "--spec", spec)
    assert solved.exit_code == 0, solved.output
    assert f"job {job_id}: 2 checkpoint(s) posted now, 2 of 2 on chain" in solved.output
    (result,) = results
    assert sorted(result.roots) == [1, 2] and len(result.generations) == 1
    on_chain = {k: "0x" + bytes(market.checkpointOf(job_id, bob.address, k)[0]).hex() for k in (1, 2)}
    assert on_chain == result.roots

    shown = run(skippipe_cli, "spec", "--job-id", job_id, "--spec", spec)
    assert shown.exit_code == 0 and f"spec {spec}: matches job {job_id}" in shown.output, shown.output
