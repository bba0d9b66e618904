"""The whole rollup on this machine: anvil as L1, the rollup's L1 contracts, and the L2 node, batcher and proposer
(and the verifier and committee, where those modules exist) as processes of their own.

    with RollupSystem(Path("out/rollup")) as system:
        l2_hash = system.deposit(system.key("proposer"), value=10**18)   # L1 -> L2 through the RollupPortal
        system.wait_l2_receipt(l2_hash)
        with system.l2():                                                # Ape on ethereum:l2:verde
            ...
        system.kill("batcher"); system.restart("batcher")                # crash tests

Each process writes its log to `<workdir>/<name>.log` and keeps its data in `<workdir>/<name>/`; the deployment
record of the L1 contracts goes to `<workdir>/deployments/`. Everything listens on 127.0.0.1. On exit every process
is stopped by its pid (SIGTERM, then SIGKILL); each is also started with Linux's parent-death signal, so a SIGKILL
of the process that started them takes them along instead of leaving orphans that hold the ports.

The settings are a demo's, not a network's: a block a second on L1, an output every `submission_interval` L2
blocks, final `finalization_period_s` seconds after it is posted, withdrawals finalizable `proof_maturity_delay_s`
seconds after they are proven.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from web3 import Web3

from offchain.chain.anvil import TEST_MNEMONIC, Anvil, chain_problem, free_port, json_rpc
from offchain.chain.deploy import RollupConfig

ROOT = Path(__file__).resolve().parents[1]
ETH = 10**18
Account.enable_unaudited_hdwallet_features()

# Mnemonic indices of the operators' keys: past the ten accounts anvil and the L2 genesis fund (TEST::0-9, which
# users and demos sign with), so an operator's L1 nonces never race a user's transactions.
OPERATOR_INDEX = {"batcher": 20, "proposer": 21, "challenger": 22}
COMMITTEE_INDEX = 23  # committee members 23, 24, ...
OPERATOR_FUNDS = 1_000 * ETH  # set on L1 with anvil_setBalance: bonds and gas for the whole run

DEMO_ROLLUP = RollupConfig(
    submission_interval=10,  # an output every 10 L2 blocks: about every 10 s when the L2 idles on L1's blocks
    finalization_period_s=15,
    proof_maturity_delay_s=3,
    dispute_clock_s=300,  # each side's clock in an output dispute: programs play a demo's, not people
)

PORTAL_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "depositTransaction", "stateMutability": "payable", "outputs": [],
     "inputs": [{"name": "_to", "type": "address"}, {"name": "_value", "type": "uint256"},
                {"name": "_gasLimit", "type": "uint64"}, {"name": "_isCreation", "type": "bool"},
                {"name": "_data", "type": "bytes"}]},
]  # fmt: skip
ORACLE_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": name, "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]}
    for name in ("nextOutputIndex", "latestBlockNumber")
]  # fmt: skip
BATCH_SUBMITTED = "0x" + Web3.keccak(text="BatchSubmitted(address,uint256,bytes32,uint256)").hex().removeprefix("0x")


class RollupSystemError(RuntimeError):
    """A part of the system did not come up, or died while it was meant to run."""


@dataclass(frozen=True)
class SystemConfig:
    """What to start, and how fast everything goes."""

    rollup: RollupConfig = DEMO_ROLLUP
    l1_block_time: int = 1  # seconds; the L2 seals a block for every L1 block it takes as an origin
    l2_block_time: float = 0  # 0: a block per transaction (and one per L1 block), so a receipt comes at once
    dev: bool = False  # the node answers evm_* (never for a chain others follow: the verifier would refuse it)
    verifier: bool | None = None  # None: start it when rollup.verifier exists
    committee: int | None = None  # members started (and set on the game); None: 3 when rollup.committee exists
    committee_threshold: int = 2
    poll_s: float = 0.5  # the batcher's and proposer's poll interval
    ready_timeout_s: float = 120.0  # a process must serve within this (py-evm's import takes seconds)

    def __post_init__(self) -> None:
        if self.l1_block_time < 1:
            raise ValueError("l1_block_time must be at least 1 s: an L1 without blocks stops the L2's origins")


def operator_key(index: int) -> Any:
    """The test mnemonic's key at `m/44'/60'/0'/0/index`."""
    return Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGKILL the child when the thread that started it dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork: nothing heavy runs in the child

    def preexec() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return preexec


_PREEXEC = _parent_death_signal()


@dataclass
class Service:
    """One process of the system: how to start it, and when it counts as up."""

    name: str
    args: list[str]  # after `python -m`
    log: Path
    url: str | None = None  # polled with eth_chainId until it answers; None: up once started
    proc: subprocess.Popen | None = field(default=None, repr=False)
    stopped_on_purpose: bool = False

    def start(self, timeout: float) -> None:
        with self.log.open("a") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} python -m {' '.join(self.args)}\n")
            log.flush()
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            # Own session: a Ctrl-C in the terminal reaches only the parent, which stops each child by its pid.
            self.proc = subprocess.Popen([sys.executable, "-m", *self.args], cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True, preexec_fn=_PREEXEC)  # fmt: skip
        self.stopped_on_purpose = False
        if self.url is None:
            return
        deadline = time.monotonic() + timeout
        while chain_problem(self.url, timeout=2.0) is not None:
            if self.proc.poll() is not None:
                raise RollupSystemError(
                    f"{self.name} exited with {self.proc.returncode} before serving\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RollupSystemError(
                    f"{self.name} did not answer on {self.url} within {timeout:.0f} s\n{self.tail()}"
                )
            time.sleep(0.2)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing flushed, no clean-up of its own."""
        self._signal(signal.SIGKILL)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `grace_s`."""
        self._signal(signal.SIGTERM, grace_s)

    def _signal(self, sig: signal.Signals, grace_s: float = 10.0) -> None:
        self.stopped_on_purpose = True
        if self.proc is None or self.proc.poll() is not None:
            return
        # Its process group is its own pid (start_new_session): whatever it started goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.log} (last {chars} chars) ---\n{text[-chars:]}"


class RollupSystem:
    """anvil, the L1 contracts and the rollup's processes, up between `__enter__` and `__exit__`.

    Attributes once entered: `l1_uri`, `l2_uri`, `verifier_uri` (None without a verifier), `addresses` (the L1
    contracts by name), `l1_start` (the portal's L1 block: the rollup's first origin), `anvil`, `workdir`.
    """

    def __init__(
        self, workdir: Path, config: SystemConfig | None = None, *, echo: Callable[[str], None] | None = None
    ):
        self.workdir = Path(workdir)
        config = config or SystemConfig()
        self.echo = echo or (lambda _line: None)
        self.services: dict[str, Service] = {}
        self.addresses: dict[str, str] = {}
        self.l1_start = 0
        self.anvil: Anvil | None = None
        self.l2_uri = ""
        self.verifier_uri: str | None = None
        self._stack = contextlib.ExitStack()
        with_verifier = config.verifier if config.verifier is not None else module_exists("rollup.verifier")
        members = config.committee if config.committee is not None else (3 if module_exists("rollup.committee") else 0)
        self.config = replace(config, verifier=with_verifier, committee=members)
        self._keys = {name: operator_key(i) for name, i in OPERATOR_INDEX.items()}
        self._keys.update({f"committee{i}": operator_key(COMMITTEE_INDEX + i) for i in range(members)})

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> RollupSystem:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if any(self.workdir.iterdir()):
            raise RollupSystemError(f"{self.workdir} is not empty: a system starts on a fresh L1, which an old L2 "
                                    "and the operators' old records would contradict")  # fmt: skip
        self._stack.enter_context(_stop_on_sigterm())
        cfg = self.config
        # Automine while deploying (each transaction mined at once, not on the next second's block), then a block
        # every l1_block_time seconds: the L2 seals a block per L1 block, so the rollup's clocks keep moving.
        self.anvil = self._stack.enter_context(Anvil.start())
        self.echo(f"L1: anvil on {self.l1_uri} (chain id 1337, a block every {cfg.l1_block_time} s)")
        for key in self._keys.values():
            self.anvil.rpc("anvil_setBalance", [key.address, hex(OPERATOR_FUNDS)])
        self._deploy()
        self.anvil.rpc("evm_setIntervalMining", [cfg.l1_block_time])
        keys_dir = self.workdir / "keys"
        keys_dir.mkdir(mode=0o700)
        for name, key in self._keys.items():
            path = keys_dir / f"{name}.key"
            path.touch(mode=0o600)
            path.write_text(key.key.hex() + "\n")
        self.l2_uri = f"http://127.0.0.1:{free_port()}"
        self._define_services()
        for name, service in self.services.items():
            service.start(cfg.ready_timeout_s)
            self.echo(
                f"{name}: pid {service.proc.pid}, log {service.log}" + (f", {service.url}" if service.url else "")
            )

    def _deploy(self) -> None:
        """The rollup's L1 contracts with `deploy_rollup`, through Ape on anvil, recorded in the workdir."""
        from offchain.chain.deploy import deploy_rollup

        members = tuple(self._keys[f"committee{i}"].address for i in range(self.config.committee or 0))
        with _env("VERDE_DEPLOYMENTS_DIR", str(self.workdir / "deployments")), self.anvil.connect():
            from ape import accounts, chain

            d = deploy_rollup(
                accounts.test_accounts[0],
                config=self.config.rollup,
                proposers=(self._keys["proposer"].address,),
                batchers=(self._keys["batcher"].address,),
                committee=members,
                committee_threshold=self.config.committee_threshold if members else 0,
                fresh=True,
            )
            self.addresses = {name: str(c.address) for name, c in d.contracts.items()}
            self.l1_start = chain.get_receipt(d.RollupPortal.txn_hash).block_number
        self.echo("L1 contracts: " + ", ".join(f"{n} {a}" for n, a in self.addresses.items())
                  + f"; the rollup starts at L1 block {self.l1_start}")  # fmt: skip

    def _define_services(self) -> None:
        cfg, wd, a = self.config, self.workdir, self.addresses
        l1 = ["--l1-rpc", self.l1_uri]
        poll = ["--poll-seconds", str(cfg.poll_s)]

        def add(name: str, args: list[str], url: str | None = None) -> None:
            self.services[name] = Service(name, args, wd / f"{name}.log", url)

        node = ["rollup.node", "--datadir", str(wd / "node"), "--port", self.l2_uri.rsplit(":", 1)[1],
                "--block-time", f"{cfg.l2_block_time:g}", *l1, "--portal", a["RollupPortal"],
                "--l1-start", str(self.l1_start), "-v"]  # fmt: skip
        add("node", node + (["--dev"] if cfg.dev else []), self.l2_uri)
        add("batcher", ["rollup.batcher", *l1, "--l2-rpc", self.l2_uri, "--inbox", a["BatchInbox"],
                        "--datadir", str(wd / "batcher"), "--key-file", self._key_file("batcher"), *poll])  # fmt: skip
        if cfg.verifier:
            port = free_port()
            self.verifier_uri = f"http://127.0.0.1:{port}"
            add("verifier", ["rollup.verifier", *l1, "--portal", a["RollupPortal"], "--inbox", a["BatchInbox"],
                             "--oracle", a["L2OutputOracle"], "--game", a["OutputDispute"],
                             "--batcher", self._keys["batcher"].address, "--l1-start", str(self.l1_start),
                             "--datadir", str(wd / "verifier"), "--port", str(port),
                             "--key-file", self._key_file("challenger")], self.verifier_uri)  # fmt: skip
        # From the verifier's chain when there is one: it holds only blocks whose batches are on L1 (the safe head),
        # so an output never covers a block a lost batch would change.
        add("proposer", ["rollup.proposer", *l1, "--l2-rpc", self.verifier_uri or self.l2_uri,
                         "--oracle", a["L2OutputOracle"], "--datadir", str(wd / "proposer"),
                         "--key-file", self._key_file("proposer"), *poll])  # fmt: skip
        if cfg.committee:
            # One process holding every member's key: a verdict needs `threshold` signatures in one transaction, and
            # the members have no channel of their own to gather them (docs/rollup.md, "The committee's replay").
            keys = [arg for i in range(cfg.committee) for arg in ("--key-file", self._key_file(f"committee{i}"))]
            add("committee", ["rollup.committee", *l1, "--game", a["OutputDispute"], "--l1-start",
                              str(self.l1_start), *keys])  # fmt: skip

    def _key_file(self, name: str) -> str:
        return str(self.workdir / "keys" / f"{name}.key")

    def close(self) -> None:
        """Stop every process (the last started first), then anvil."""
        for service in reversed(list(self.services.values())):
            service.stop()
        self._stack.close()

    # ------------------------------------------------------------------ crash tests

    def kill(self, name: str) -> None:
        """SIGKILL one process (`node`, `batcher`, `proposer`, `verifier`, `committee`)."""
        self._service(name).kill()

    def stop(self, name: str) -> None:
        """SIGTERM one process and wait for it."""
        self._service(name).stop()

    def restart(self, name: str) -> None:
        """Start one process again with the same arguments, datadir and port (stopping it first if it runs)."""
        service = self._service(name)
        service.stop()
        service.start(self.config.ready_timeout_s)

    def alive(self, name: str) -> bool:
        return self._service(name).alive

    def check(self) -> None:
        """Raise if a process died that was not stopped on purpose (with the end of its log)."""
        dead = [s for s in self.services.values() if not s.alive and not s.stopped_on_purpose]
        if dead:
            raise RollupSystemError("\n".join(f"{s.name} exited with {s.proc.returncode}\n{s.tail()}" for s in dead))

    def log(self, name: str) -> Path:
        return self._service(name).log

    def _service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise KeyError(f"no process {name!r}: the system runs {', '.join(self.services)}") from None

    # ------------------------------------------------------------------ using it

    @property
    def l1_uri(self) -> str:
        return self.anvil.uri if self.anvil else ""

    def key(self, name: str) -> Any:
        """An operator's key (`batcher`, `proposer`, `challenger`, `committee<i>`), funded on L1."""
        return self._keys[name]

    def l1_web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.l1_uri, request_kwargs={"timeout": 30}))

    def l2_web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.l2_uri, request_kwargs={"timeout": 30}))

    def l1(self) -> contextlib.AbstractContextManager:
        """Ape connected to the L1 (anvil, `ethereum:local:node`) for the duration of a `with` block."""
        return self.anvil.connect()

    @contextlib.contextmanager
    def l2(self) -> Iterator[Any]:
        """Ape connected to the L2 through `ethereum:l2:verde` (plugins/ape-verde) for a `with` block."""
        from ape import networks

        # ape-config.yaml gives the L2 network a 20% gas margin over the node's estimates (it says why).
        # disconnect_after: Ape keys a kept connection by network and URI, not provider, so a later `node`
        # connection to the L2 (make demo's swarm) was handed this `verde` one, and its deployment record's name.
        choice = networks.parse_network_choice("ethereum:l2:verde", provider_settings={"uri": self.l2_uri},
                                               disconnect_after=True)  # fmt: skip
        with choice as provider:
            yield provider

    def deposit(self, key: Any, *, to: str | None = None, value: int = 0, mint: int | None = None,
                gas: int = 100_000, data: bytes = b"") -> str:  # fmt: skip
        """Send `RollupPortal.depositTransaction` on L1 signed by `key` (an eth_account key) and return the hash
        the deposit has on L2. `mint` is the ETH sent with it (`value` unless given)."""
        from rollup.deposits import deposit_from_log

        l1 = self.l1_web3()
        portal = l1.eth.contract(address=self.addresses["RollupPortal"], abi=PORTAL_ABI)
        call = portal.functions.depositTransaction(to or key.address, value, gas, False, data)
        tx = call.build_transaction({"from": key.address, "value": value if mint is None else mint,
                                     "nonce": l1.eth.get_transaction_count(key.address, "pending")})  # fmt: skip
        receipt = l1.eth.wait_for_transaction_receipt(
            l1.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction), timeout=60
        )
        if receipt.status != 1:
            raise RollupSystemError(f"the portal refused the deposit (L1 tx {receipt.transactionHash.hex()})")
        (log,) = [e for e in receipt.logs if e.address.lower() == portal.address.lower()]
        return "0x" + deposit_from_log(log).hash.hex()

    def wait_l2_receipt(self, l2_hash: str, timeout: float = 60.0) -> dict[str, Any]:
        """The L2 receipt of `l2_hash` once the node has it (a deposit waits for its L1 block as an origin)."""
        return self.wait(lambda: json_rpc(self.l2_uri, "eth_getTransactionReceipt", [l2_hash]), timeout,
                         f"the L2 receipt of {l2_hash}")  # fmt: skip

    def batches(self) -> int:
        """How many batcher transactions the inbox has taken so far."""
        logs = json_rpc(self.l1_uri, "eth_getLogs", [{"address": self.addresses["BatchInbox"], "fromBlock": "0x0",
                                                      "toBlock": "latest", "topics": [BATCH_SUBMITTED]}])  # fmt: skip
        return len(logs)

    def outputs(self) -> tuple[int, int]:
        """(outputs posted to the oracle, the L2 block of the latest one)."""
        oracle = self.l1_web3().eth.contract(address=self.addresses["L2OutputOracle"], abi=ORACLE_ABI)
        count = oracle.functions.nextOutputIndex().call()
        return count, (oracle.functions.latestBlockNumber().call() if count else 0)

    def wait(self, check: Callable[[], Any], timeout: float, what: str, poll_s: float = 0.25) -> Any:
        """`check()` once it is truthy; raises with the end of every log when `timeout` passes first, or at once
        when a process died."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(requests.RequestException):
                got = check()
                if got:
                    return got
            self.check()
            if time.monotonic() > deadline:
                logs = "\n".join(s.tail(1500) for s in self.services.values())
                raise RollupSystemError(f"{what}: not within {timeout:g} s\n{logs}")
            time.sleep(poll_s)


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while the system runs, so `kill <pid>` of its owner still stops every child
    (Python's default SIGTERM ends the process without running a single `finally`)."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
