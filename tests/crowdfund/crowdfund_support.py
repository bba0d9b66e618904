"""Shared helpers for the Crowdfund tests: constants, the Asset wrapper, strict revert and event checks.

Imported by tests/crowdfund/conftest.py and the test modules next to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ape
from ape.exceptions import CustomError
from eth_utils import keccak
from revert_support import decode_custom_error, same_value

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

HOUR = 3_600  # seconds
DAY = 86_400  # seconds

GOAL = 10**18  # wei: the default campaign goal
STAKE = 10**17  # wei: each solver's stake in the default template
STEPS = 100  # training steps in the default template
INTERVAL = 25  # steps per checkpoint: 4 checkpoints
NUM_SOLVERS = 2  # solvers per job: 8 milestones
CHECKPOINTS = -(-STEPS // INTERVAL)  # ceil(steps / interval)
MILESTONES = CHECKPOINTS * NUM_SOLVERS
WINDOW = HOUR  # challenge window of the default template
SPEC = keccak(text="spec:crowdfund-test-job")

# CampaignStatus values, as the contract numbers them.
NONE, FUNDING, SUCCEEDED, LAUNCHED, FAILED = range(5)
# IJobMarket.JobStatus values.
JOB_NONE, JOB_OPEN, JOB_RUNNING, JOB_CANCELLED, JOB_VOIDED = range(5)


@dataclass(frozen=True)
class Asset:
    """One payment asset as the tests use it: ETH (token None) or an ERC20 with public mint."""

    name: str  # "eth" or "erc20", for test ids
    token: Any  # the ERC20 contract instance, or None for ETH
    prefunded: bool = False  # payers already hold plenty and approved every spender: fund() does nothing

    @property
    def address(self) -> str:
        """The asset as Crowdfund and JobMarket name it: address(0) for ETH."""
        return ZERO_ADDRESS if self.token is None else self.token.address

    @property
    def is_eth(self) -> bool:
        return self.token is None

    def value(self, amount: int) -> int:
        """msg.value a payment of `amount` needs."""
        return amount if self.is_eth else 0

    def balance(self, who: Any) -> int:
        """`who`'s balance of the asset."""
        address = who if isinstance(who, str) else who.address
        if self.is_eth:
            return ape.chain.provider.get_balance(address)
        return self.token.balanceOf(address)

    def fund(self, account: Any, spender: Any, amount: int) -> None:
        """Give an ERC20 payer `amount` and approve `spender` for it (ETH accounts are pre-funded)."""
        if not (self.is_eth or self.prefunded):
            self.token.mint(account, amount, sender=account)
            self.token.approve(spender, amount, sender=account)

    def received(self, who: Any, before: int, receipt: Any) -> int:
        """What `who` gained since `before`, adding back the fees if it sent `receipt`."""
        gained = self.balance(who) - before
        if self.is_eth and receipt.sender == who.address:
            gained += receipt.total_fees_paid
        return gained


@contextlib.contextmanager
def reverts_with(error: Any, **inputs: Any) -> Iterator[Any]:
    """Expect a revert with custom error `error` (an Ape error class) and exactly these input values.

    Stricter than `ape.reverts(cls, **inputs)`: an error that bubbled up from another contract (e.g.
    JobMarket through Crowdfund) is decoded from the raw revert data with the error's ABI.
    """
    with ape.reverts() as info:
        yield info
    exc = info.value
    abi = error.abi
    if isinstance(exc, CustomError):
        assert type(exc).__name__ == abi.name, f"expected {abi.name}, got {type(exc).__name__}: {exc}"
        actual = dict(exc.inputs)
    else:
        actual = decode_custom_error(abi, exc)
        assert actual is not None, f"expected {abi.name}, got {exc!r}"
        # Callers read `info.value.inputs` whether Ape decoded the error or we did (which one depends on the
        # revert data's bytes, e.g. a timestamp holding 0x27).
        exc.inputs = actual
    for name, want in inputs.items():
        assert name in actual, f"{abi.name} has no input {name!r}: {actual}"
        assert same_value(want, actual[name]), f"{abi.name}.{name}: expected {want!r}, got {actual[name]!r}"


def event(receipt: Any, event_type: Any) -> Any:
    """The single `event_type` log in `receipt`."""
    logs = receipt.decode_logs(event_type)
    assert len(logs) == 1, f"expected one {event_type.name}, got {len(logs)}"
    return logs[0]


def template(now: int, **overrides: Any) -> tuple:
    """A JobTemplate tuple whose deadlines count from `now`; fields can be overridden by name."""
    fields = {
        "specHash": SPEC,
        "steps": STEPS,
        "checkpointInterval": INTERVAL,
        "numSolvers": NUM_SOLVERS,
        "stake": STAKE,
        "joinDeadline": now + 2 * DAY,
        "completionDeadline": now + 10 * DAY,
        "challengeWindow": WINDOW,
        "programTree": b"\x00" * 32,  # no on-chain program: committee-judged
        "dataTree": b"\x00" * 32,
        "numOps": 0,
    }
    fields.update(overrides)
    return tuple(fields.values())


def pro_rata(amount: int, contributions: list[int]) -> list[int]:
    """One sync's floor shares per contribution, the last claimant's dust not included."""
    raised = sum(contributions)
    return [amount * c // raised for c in contributions]


class Ledger:
    """Reference model of Crowdfund's claims: each sync (epoch) is shared on its own by floor(amount *
    contribution / raised), and the contributor that claims an epoch last takes its rounding dust."""

    def __init__(self, contributions: dict[str, int]):
        self.contributions = dict(contributions)  # address -> total contribution, in first-contribution order
        self.raised = sum(contributions.values())
        self.epochs: list[list[int]] = []  # [amount, paid, claimers] per sync
        self.last = dict.fromkeys(contributions, 0)  # address -> epochs claimed

    def sync(self, amount: int) -> None:
        """Record a sync that pulled `amount`."""
        self.epochs.append([amount, 0, 0])

    def claimable(self, who: str) -> int:
        """Floor shares of the epochs `who` has not claimed (no dust)."""
        c = self.contributions[who]
        return sum(e[0] * c // self.raised for e in self.epochs[self.last[who] :])

    def claim(self, who: str) -> tuple[int, int]:
        """Apply `who`'s claim; returns (share, dust) as RefundClaimed reports them."""
        c = self.contributions[who]
        share = dust = 0
        for e in self.epochs[self.last[who] :]:
            s = e[0] * c // self.raised
            share += s
            e[1] += s
            e[2] += 1
            if e[2] == len(self.contributions):
                dust += e[0] - e[1]
                e[1] = e[0]
        self.last[who] = len(self.epochs)
        return share, dust
