"""RollupPortal deposits: OP's TransactionDeposited event (version 0, opaque data = mint ‖ value ‖ gasLimit ‖
isCreation ‖ data), aliasing of contract senders, and OP's refusals.

Run: `.venv/bin/ape test tests/rollup/l1/test_rollup_portal_deposits.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
from l1_support import apply_alias, deposit_fields

ZERO = "0x0000000000000000000000000000000000000000"


def _deposit_event(portal, tx):
    (event,) = tx.decode_logs(portal.TransactionDeposited)
    return event


def test_deposit_event_decodes_to_the_fields(portal, alice, bob):
    """An EOA's deposit emits TransactionDeposited(from = the EOA, to, version 0) whose opaque data splits into
    mint (the ETH sent), value, gas limit, isCreation and data; the ETH stays in the portal."""
    tx = portal.depositTransaction(bob, 7, 50_000, False, b"\xca\xfe", value=10**18, sender=alice)
    event = _deposit_event(portal, tx)
    assert (event["from"], event.to, event.version) == (alice.address, bob.address, 0)
    assert deposit_fields(bytes(event.opaqueData)) == {
        "mint": 10**18, "value": 7, "gas_limit": 50_000, "is_creation": False, "data": b"\xca\xfe"
    }  # fmt: skip
    assert len(event.opaqueData) == 32 + 32 + 8 + 1 + 2  # abi.encodePacked widths
    assert portal.balance == 10**18


def test_deposit_creation_to_zero_address(portal, alice):
    """A creation deposit carries its init code as data and the zero address as `to`."""
    init_code = bytes.fromhex("600a600c600039600a6000f3")
    tx = portal.depositTransaction(ZERO, 0, 100_000, True, init_code, sender=alice)
    event = _deposit_event(portal, tx)
    assert event.to == ZERO
    assert deposit_fields(bytes(event.opaqueData))["is_creation"] is True
    assert deposit_fields(bytes(event.opaqueData))["data"] == init_code


def test_deposit_from_a_contract_is_aliased(project, portal, alice):
    """A contract's deposit comes from its OP alias (address + 0x1111...1111) on L2."""
    user = alice.deploy(project.ContractUser)
    call = portal.depositTransaction.encode_input(alice, 0, 21_000, False, b"")
    tx = user.execute(portal, 5, call, value=5, sender=alice)
    event = _deposit_event(portal, tx)
    assert event["from"] == apply_alias(user.address) != user.address
    assert deposit_fields(bytes(event.opaqueData))["mint"] == 5


def test_sending_eth_deposits_it_to_the_sender(portal, alice):
    """Plain ETH sent to the portal is a deposit to the sender itself with OP's 100,000 gas limit."""
    tx = alice.transfer(portal, 12345)
    event = _deposit_event(portal, tx)
    assert (event["from"], event.to) == (alice.address, alice.address)
    assert deposit_fields(bytes(event.opaqueData)) == {
        "mint": 12345, "value": 12345, "gas_limit": 100_000, "is_creation": False, "data": b""
    }  # fmt: skip


def test_deposit_refusals_follow_op(portal, alice, bob):
    """OP's refusals: creation with a target, gas under 21,000 + 16 a byte, data over 120,000 bytes; and ours,
    gas over one block's deposit budget."""
    with ape.reverts(portal.PortalCreationWithTarget, to=bob):
        portal.depositTransaction(bob, 0, 100_000, True, b"", sender=alice)
    assert portal.minimumGasLimit(3) == 21_048
    with ape.reverts(portal.PortalGasLimitTooSmall, gasLimit=21_047, minimum=21_048):
        portal.depositTransaction(bob, 0, 21_047, False, b"abc", sender=alice)
    with ape.reverts(portal.PortalDataTooLarge, length=120_001, maximum=120_000):
        portal.depositTransaction(bob, 0, 19_000_000, False, b"\x01" * 120_001, sender=alice)
    with ape.reverts(portal.PortalGasLimitTooLarge, gasLimit=20_000_001, maximum=20_000_000):
        portal.depositTransaction(bob, 0, 20_000_001, False, b"", sender=alice)
