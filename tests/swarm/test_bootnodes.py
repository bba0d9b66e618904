"""SwarmCoordinator bootnodes: a list of multiaddrs kept by BOOTNODE_MANAGER_ROLE."""

from __future__ import annotations

import pytest

NODES = [
    "/ip4/10.0.0.1/tcp/38331/p2p/QmQ2gEXoPJg6iMBSUFWGzAabS2VhnzuS782Y637hGjfsRJ",
    "/ip4/10.0.0.2/tcp/38331/p2p/QmWhiaLrx3HRZfgXc2i7KW5nMUNK7P9tRc71yFJdGEZKkC",
    "/dns4/boot.example.org/tcp/38331/p2p/QmQa1SCfYTxx7RvU7qJJRo79Zm1RAwPpkeLueDVJuBBmFp",
]


@pytest.fixture
def manager(coordinator, deployer, dave):
    """dave, granted BOOTNODE_MANAGER_ROLE by the admin (the admin holds it too)."""
    coordinator.grantRole(coordinator.BOOTNODE_MANAGER_ROLE(), dave, sender=deployer)
    return dave


def test_add_bootnodes_succeeds(coordinator, manager):
    """A manager appends bootnodes; each gets an event with its index and multiaddr."""
    tx = coordinator.addBootnodes(NODES, sender=manager)
    events = list(tx.events.filter(coordinator.BootnodeAdded))
    assert [(e.index, e.multiaddr) for e in events] == list(enumerate(NODES))
    assert coordinator.getBootnodes() == NODES
    assert coordinator.bootnodeCount() == 3


def test_add_bootnodes_appends_after_existing(coordinator, deployer):
    """A second batch continues the indexes of the first."""
    coordinator.addBootnodes(NODES[:1], sender=deployer)
    tx = coordinator.addBootnodes(NODES[1:], sender=deployer)
    assert [e.index for e in tx.events.filter(coordinator.BootnodeAdded)] == [1, 2]
    assert coordinator.getBootnodes() == NODES


def test_add_bootnodes_empty_entry_reverts(coordinator, deployer, reverts):
    """An empty multiaddr rejects the whole batch."""
    with reverts(coordinator.SwarmEmptyBootnode, index=1):
        coordinator.addBootnodes([NODES[0], ""], sender=deployer)
    assert coordinator.getBootnodes() == []


def test_add_bootnodes_not_manager_reverts(coordinator, eve, reverts):
    """Only BOOTNODE_MANAGER_ROLE may add."""
    role = coordinator.BOOTNODE_MANAGER_ROLE()
    with reverts(coordinator.AccessControlUnauthorizedAccount, account=eve.address, neededRole=role):
        coordinator.addBootnodes(NODES, sender=eve)


def test_remove_bootnode_moves_last_into_place(coordinator, manager):
    """Removing a middle entry moves the last one into its index and reports the removed multiaddr."""
    coordinator.addBootnodes(NODES, sender=manager)
    tx = coordinator.removeBootnode(0, sender=manager)
    [event] = tx.events.filter(coordinator.BootnodeRemoved)
    assert (event.index, event.multiaddr) == (0, NODES[0])
    assert coordinator.getBootnodes() == [NODES[2], NODES[1]]


def test_remove_last_bootnode_succeeds(coordinator, manager):
    """Removing the last entry just shortens the list."""
    coordinator.addBootnodes(NODES, sender=manager)
    tx = coordinator.removeBootnode(2, sender=manager)
    [event] = tx.events.filter(coordinator.BootnodeRemoved)
    assert (event.index, event.multiaddr) == (2, NODES[2])
    assert coordinator.getBootnodes() == NODES[:2]


def test_remove_bootnode_out_of_range_reverts(coordinator, manager, reverts):
    """An index past the end is rejected with the list length."""
    coordinator.addBootnodes(NODES, sender=manager)
    with reverts(coordinator.SwarmBootnodeIndexOutOfRange, index=3, length=3):
        coordinator.removeBootnode(3, sender=manager)


def test_remove_bootnode_not_manager_reverts(coordinator, deployer, eve, reverts):
    """Only BOOTNODE_MANAGER_ROLE may remove."""
    coordinator.addBootnodes(NODES, sender=deployer)
    role = coordinator.BOOTNODE_MANAGER_ROLE()
    with reverts(coordinator.AccessControlUnauthorizedAccount, account=eve.address, neededRole=role):
        coordinator.removeBootnode(0, sender=eve)


def test_clear_bootnodes_succeeds(coordinator, manager):
    """Clearing empties the list and reports how many there were."""
    coordinator.addBootnodes(NODES, sender=manager)
    tx = coordinator.clearBootnodes(sender=manager)
    [event] = tx.events.filter(coordinator.BootnodesCleared)
    assert event.count == 3
    assert coordinator.getBootnodes() == []
    assert coordinator.bootnodeCount() == 0


def test_clear_bootnodes_not_manager_reverts(coordinator, eve, reverts):
    """Only BOOTNODE_MANAGER_ROLE may clear."""
    role = coordinator.BOOTNODE_MANAGER_ROLE()
    with reverts(coordinator.AccessControlUnauthorizedAccount, account=eve.address, neededRole=role):
        coordinator.clearBootnodes(sender=eve)


def test_revoked_manager_add_reverts(coordinator, deployer, manager, reverts):
    """A manager whose role the admin revoked can no longer edit the list."""
    role = coordinator.BOOTNODE_MANAGER_ROLE()
    coordinator.revokeRole(role, manager, sender=deployer)
    with reverts(coordinator.AccessControlUnauthorizedAccount, account=manager.address, neededRole=role):
        coordinator.addBootnodes(NODES, sender=manager)


# ---------------------------------------------------------------- peer announcements


def test_announce_peer_records_address_and_time(coordinator, peers, chain):
    """A peer's owner publishes its address; the latest one replaces the first, listed once."""
    a = peers["A"]
    tx = coordinator.announcePeer(a.id, NODES[0], sender=a.owner)
    [event] = tx.events.filter(coordinator.PeerAnnounced)
    assert bytes(event.peerId) == a.id and event.multiaddr == NODES[0]
    tx = coordinator.announcePeer(a.id, NODES[1], sender=a.owner)
    multiaddr, at = coordinator.peerAddress(a.id)
    assert multiaddr == NODES[1] and at == chain.provider.get_block(tx.block_number).timestamp
    assert coordinator.announcedPeerCount() == 1
    ids, addrs, times = coordinator.announcedPeers(0, 10)
    assert [bytes(i) for i in ids] == [a.id] and addrs == [NODES[1]] and times == [at]


def test_announced_peers_pages(coordinator, peers):
    """announcedPeers pages through every announcing peer in order of first announcement."""
    for name, addr in zip(("A", "B", "C"), NODES, strict=True):
        coordinator.announcePeer(peers[name].id, addr, sender=peers[name].owner)
    ids, addrs, _ = coordinator.announcedPeers(1, 5)
    assert [bytes(i) for i in ids] == [peers["B"].id, peers["C"].id] and addrs == NODES[1:]
    assert coordinator.announcedPeers(3, 5)[0] == [] and coordinator.announcedPeers(10, 5)[0] == []
    assert coordinator.peerAddress(peers["D"].id) == ("", 0)


def test_announce_peer_not_owner_reverts(coordinator, peers, bob, reverts):
    """Only the peer's owner speaks for it: nobody can point others at a fake address for someone's peer."""
    a = peers["A"]
    with reverts(coordinator.SwarmNotPeerOwner, peerId=a.id, caller=bob.address):
        coordinator.announcePeer(a.id, NODES[0], sender=bob)
    assert coordinator.announcedPeerCount() == 0


@pytest.mark.parametrize("length", [0, 257])
def test_announce_peer_bad_length_reverts(coordinator, peers, reverts, length):
    """An empty address or one longer than MAX_PEER_ADDRESS_BYTES is refused."""
    a = peers["A"]
    with reverts(coordinator.SwarmBadPeerAddress, length=length):
        coordinator.announcePeer(a.id, "x" * length, sender=a.owner)
    assert coordinator.peerAddress(a.id) == ("", 0)
