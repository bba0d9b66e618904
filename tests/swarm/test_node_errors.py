"""What a participant can get wrong before a node starts reaches them as one line and costs no gas.

Each case runs the real node set-up (`SwarmNode.run`) against the contracts on Ape's test chain and checks the
error's text, that nothing was registered, and what the CLIs make of it; the wallet helpers are checked with
a real Ape keyfile account.
"""

from __future__ import annotations

import json
import logging

import pytest


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    from offchain.swarm.warmup import tiny_checkpoint

    path = tmp_path_factory.mktemp("warm") / "warm.pt"
    tiny_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def deployment(deployer, alice, bob, tmp_path_factory):  # alice, bob first: Ape snapshots per scope, in order
    from offchain.chain.deploy import deploy_all

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VERDE_DEPLOYMENTS_DIR", str(tmp_path_factory.mktemp("deployments")))
        return deploy_all(deployer, fresh=True)


def _node(tmp_path, account, deployment, warm):
    from offchain.swarm.node import NodeConfig, SwarmNode

    lines: list[str] = []
    node = SwarmNode(NodeConfig(workdir=tmp_path / "node", init_checkpoint=warm, rounds=1), account, deployment,
                     echo=lines.append)  # fmt: skip
    return node, lines


def test_empty_wallet_refused_before_any_transaction(accounts, deployment, tmp_path, warm):
    """An account with no ether is told so, with how to fund it on a local chain; the peer stays unregistered."""
    from offchain.swarm.node import NodeError

    empty = accounts.generate_test_account()
    assert int(empty.balance) == 0
    node, _ = _node(tmp_path, empty, deployment, warm)
    with pytest.raises(NodeError) as err:
        node.run()
    assert f"account {empty.address} has no ether" in str(err.value) and "ape run fund" in str(err.value)
    assert int(deployment.IdentityRegistry.ownerOf(node.peer), 16) == 0


def test_corrupted_identity_file_names_the_file_and_what_deleting_means(alice, deployment, tmp_path, warm):
    """A key file that is not a hivemind key is refused (not replaced): the error names it and says that a new
    identity is a new peer with no history."""
    from offchain.swarm.node import NodeError

    key = tmp_path / "node" / "identity.key"
    key.parent.mkdir()
    key.write_bytes(b"not a key at all")
    with pytest.raises(NodeError) as err:
        _node(tmp_path, alice, deployment, warm)
    assert str(key) in str(err.value) and "new peer" in str(err.value) and "no history" in str(err.value)
    assert key.read_bytes() == b"not a key at all"


def test_foreign_key_file_refused(alice, deployment, tmp_path, warm):
    """A well-formed key of the wrong kind (an Ed25519 libp2p key, as other libp2p tools write) is refused."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from offchain.swarm.node import NodeError

    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key = tmp_path / "node" / "identity.key"
    key.parent.mkdir()
    key.write_bytes(b"\x08\x01\x12\x40" + raw + raw)  # libp2p PrivateKey protobuf: type 1 (Ed25519), 64 bytes
    with pytest.raises(NodeError, match="not a hivemind peer key"):
        _node(tmp_path, alice, deployment, warm)


def test_bad_task_mix_refused_before_any_transaction(alice, deployment, tmp_path, warm):
    """--mix with an addition checkpoint, or naming a task outside a family checkpoint's family, is one line
    and nothing is sent (the mix is checked as the checkpoint loads, before the wallet is even asked)."""
    from offchain.swarm.node import NodeConfig, NodeError, SwarmNode
    from offchain.swarm.warmup import FamilyWarmupConfig, write_warmup

    family = tmp_path / "family.pt"
    write_warmup(family, FamilyWarmupConfig(names=("cmp", "add1"), width=16, steps=0, probe=8, heldout=8), log=False)
    cases = [(warm, {"add2": 1}, "addition-task checkpoint"), (family, {"sort": 1}, "not in this family"),
             (family, {"cmp": 0}, "not all zero"), (family, {"cmp": 5000}, "at most 1000")]  # fmt: skip
    nonce = alice.nonce
    for i, (init, mix, expected) in enumerate(cases):
        cfg = NodeConfig(workdir=tmp_path / f"node{i}", init_checkpoint=init, rounds=1, mix=mix)
        node = SwarmNode(cfg, alice, deployment, echo=lambda _m: None)
        with pytest.raises(NodeError, match=expected) as err:
            node.run()
        assert str(err.value).startswith("--mix: ") and "\n" not in str(err.value)
        assert int(deployment.IdentityRegistry.ownerOf(node.peer), 16) == 0
    assert alice.nonce == nonce


def test_workdir_that_is_a_file_refused(alice, deployment, tmp_path, warm):
    """--workdir naming a file is one line, not mkdir's traceback."""
    from offchain.swarm.node import NodeError

    (tmp_path / "node").write_text("a file")
    with pytest.raises(NodeError, match="--workdir .*node: File exists"):
        _node(tmp_path, alice, deployment, warm)


def test_peer_of_another_wallet_refused(alice, bob, deployment, tmp_path, warm):
    """A workdir whose peer id another wallet registered stops before sending anything."""
    from offchain.swarm.node import NodeError

    node, _ = _node(tmp_path, alice, deployment, warm)
    deployment.IdentityRegistry.registerPeer(*node.identity.registration_proof(deployment.IdentityRegistry, bob),
                                             sender=bob)  # fmt: skip
    nonce = alice.nonce
    with pytest.raises(NodeError, match="registered to another wallet"):
        node.run()
    assert alice.nonce == nonce


@pytest.mark.parametrize(
    ("announce", "port", "expected"),
    [
        ("203.0.113.7", 31337, "/ip4/203.0.113.7/tcp/31337"),
        ("203.0.113.7:4001", 0, "/ip4/203.0.113.7/tcp/4001"),
        ("node.example.org", 31337, "/dns/node.example.org/tcp/31337"),
        ("/ip4/198.51.100.1/tcp/9000", 0, "/ip4/198.51.100.1/tcp/9000"),
    ],
)
def test_announce_forms(announce, port, expected):
    """--announce takes a host, host:port or a multiaddr; a bare host takes the listen port."""
    from offchain.swarm.node import _announce_maddr

    assert _announce_maddr(announce, port) == expected


@pytest.mark.parametrize("announce", ["203.0.113.7", "host:port"])
def test_announce_without_usable_port_refused(announce):
    """A bare host with no fixed port, or a port that is not a number, is a NodeError, not a bad multiaddr."""
    from offchain.swarm.node import NodeError, _announce_maddr

    with pytest.raises(NodeError, match="--announce"):
        _announce_maddr(announce, 0)


# ---------------------------------------------------------------- wallets


@pytest.fixture
def keyfile_account(tmp_path):
    """A real Ape keyfile account (what `ape accounts import` writes), passphrase "correct horse"."""
    from ape_accounts.accounts import KeyfileAccount
    from eth_account import Account

    key = Account.create()
    path = tmp_path / "my-wallet.json"
    path.write_text(json.dumps(Account.encrypt(key.key, "correct horse")))
    return KeyfileAccount(keyfile_path=path)


def test_autosign_unlocks_with_apes_passphrase_variable(keyfile_account, monkeypatch):
    """With APE_ACCOUNTS_<alias>_PASSPHRASE set, --autosign unlocks once and signing asks nothing."""
    from offchain.chain.wallet import passphrase_variable, sign_unattended

    monkeypatch.setenv(passphrase_variable(keyfile_account), "correct horse")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    sign_unattended(keyfile_account)
    from ape.types.signatures import recover_signer
    from eth_account.messages import encode_defunct

    message = encode_defunct(text="round 7")
    signature = keyfile_account.sign_message(message)  # would stop at a `Sign:` prompt without autosign
    assert recover_signer(message, signature) == keyfile_account.address
    assert not logging.getLogger("ape").filter(logging.makeLogRecord({"msg": "Using cached key for my-wallet"}))


def test_autosign_wrong_or_missing_passphrase_is_one_line(keyfile_account, monkeypatch):
    """A wrong passphrase, or none where no terminal can ask, is a WalletError naming the variable."""
    from offchain.chain.wallet import WalletError, passphrase_variable, sign_unattended

    var = passphrase_variable(keyfile_account)
    assert var == "APE_ACCOUNTS_my-wallet_PASSPHRASE"
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.delenv(var, raising=False)
    with pytest.raises(WalletError, match=var):
        sign_unattended(keyfile_account)
    monkeypatch.setenv(var, "wrong")
    with pytest.raises(WalletError, match="cannot unlock my-wallet"):
        sign_unattended(keyfile_account)
