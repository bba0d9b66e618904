"""SwarmCoordinator schedule: construction, time-derived views, permissionless O(1) catch-up, duration changes."""

from __future__ import annotations

import random

import pytest

ADMIN_ROLE = b"\x00" * 32


def _expected(cfg, genesis, timestamp, stages=None):
    """Python model of the schedule with one set of durations: (round, stage, stage start, deadline)."""
    stages = stages or cfg.stages
    length = sum(stages)
    round_, within = divmod(timestamp - genesis, length)
    start = genesis + round_ * length
    for stage, duration in enumerate(stages):
        if within < duration:
            return round_, stage, start, start + duration
        within -= duration
        start += duration
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- construction


def test_constructor_sets_schedule_roles_and_limits(coordinator, registry, deployer, cfg, genesis, chain):
    """A new coordinator starts round 0 stage 0 at deployment with the given durations, limits and roles."""
    assert coordinator.version() == "1.2.0"
    assert coordinator.registry() == registry.address
    assert coordinator.stageCount() == 3
    assert list(coordinator.stageDurations()) == list(cfg.stages)
    assert coordinator.pendingStageDurations() == ([], 0)
    assert genesis == chain.blocks.head.timestamp
    assert tuple(coordinator.anchor()) == (0, 0, genesis)
    assert tuple(coordinator.schedule()) == (0, 0, genesis, genesis + cfg.stages[0])
    assert coordinator.maxRewardPerQuestion() == cfg.max_reward_per_question
    assert coordinator.maxQuestionsPerRound() == cfg.max_questions
    assert coordinator.hasRole(ADMIN_ROLE, deployer)
    assert coordinator.hasRole(coordinator.BOOTNODE_MANAGER_ROLE(), deployer)
    assert coordinator.getBootnodes() == []


def test_constructor_emits_initial_state(coordinator, cfg, genesis):
    """Deployment emits the round-0 anchor, the durations and the reward limits for indexers."""
    receipt = coordinator.creation_metadata.receipt
    [stage] = receipt.events.filter(coordinator.StageAdvanced)
    assert (stage.round, stage.stage, stage.startedAt) == (0, 0, genesis)
    [round_] = receipt.events.filter(coordinator.RoundAdvanced)
    assert round_.round == 0
    [durations] = receipt.events.filter(coordinator.StageDurationsUpdated)
    assert list(durations.durations) == list(cfg.stages)
    assert durations.effectiveRound == 0
    [limits] = receipt.events.filter(coordinator.RewardLimitsUpdated)
    assert limits.maxRewardPerQuestion == cfg.max_reward_per_question
    assert limits.maxQuestionsPerRound == cfg.max_questions


@pytest.mark.parametrize("durations", [[], [1] * 9], ids=["none", "nine"])
def test_constructor_bad_stage_count_reverts(project, deployer, registry, durations, reverts):
    """A round needs 1 to 8 stages."""
    with reverts(project.SwarmCoordinator.SwarmBadStageCount, count=len(durations)):
        deployer.deploy(project.SwarmCoordinator, registry, deployer, durations, 1, 1)


def test_constructor_zero_duration_reverts(project, deployer, registry, reverts):
    """Every stage must last at least one second."""
    with reverts(project.SwarmCoordinator.SwarmZeroStageDuration, stage=1):
        deployer.deploy(project.SwarmCoordinator, registry, deployer, [10, 0, 10], 1, 1)


def test_constructor_eight_stages_succeeds(project, deployer, registry):
    """Eight stages (a full slot of durations) are supported and read back in order."""
    durations = [1, 2, 3, 4, 5, 6, 7, 4_294_967_295]
    c = deployer.deploy(project.SwarmCoordinator, registry, deployer, durations, 1, 1)
    assert c.stageCount() == 8
    assert list(c.stageDurations()) == durations


def test_supports_interface_erc165_access_control_and_coordinator(project, coordinator):
    """ERC-165 reports IERC165, IAccessControl and ISwarmCoordinator, nothing else."""
    from eth_utils import function_signature_to_4byte_selector as selector

    def interface_id(abi):
        out = 0
        for item in abi:
            if item.type == "function":
                sig = f"{item.name}({','.join(i.canonical_type for i in item.inputs)})"
                out ^= int.from_bytes(selector(sig), "big")
        return out.to_bytes(4, "big")

    assert coordinator.supportsInterface(interface_id(project.ISwarmCoordinator.contract_type.abi))
    assert coordinator.supportsInterface(bytes.fromhex("01ffc9a7"))  # IERC165
    assert coordinator.supportsInterface(bytes.fromhex("7965db0b"))  # IAccessControl
    assert not coordinator.supportsInterface(bytes.fromhex("ffffffff"))


# ---------------------------------------------------------------- views from time


@pytest.mark.parametrize(
    "round_,stage,delta",
    [(0, 0, 0), (0, 0, 59), (0, 1, 0), (0, 1, 119), (0, 2, 0), (0, 2, 179), (1, 0, 0), (3, 2, 7)],
)
def test_views_follow_block_time(coordinator, clock, cfg, round_, stage, delta):
    """Round, stage and deadline come from block time alone, first and last second of each stage included."""
    clock.view_at(clock.start(round_, stage) + delta)
    assert coordinator.currentRound() == round_
    assert coordinator.currentStage() == stage
    assert coordinator.stageDeadline() == clock.start(round_, stage + 1)
    assert tuple(coordinator.schedule()) == (round_, stage, clock.start(round_, stage), clock.start(round_, stage + 1))


def test_views_after_skipped_rounds_without_advance(coordinator, clock, genesis):
    """With nobody advancing for many rounds the views still read the right position, the anchor stays put."""
    clock.view_at(clock.start(1_000, 2) + 100)
    assert coordinator.currentRound() == 1_000
    assert coordinator.currentStage() == 2
    assert coordinator.stageDeadline() == clock.start(1_001)
    assert tuple(coordinator.anchor()) == (0, 0, genesis)


def test_is_reveal_over_after_stage_zero_of_next_round(coordinator, clock):
    """The reveal window of round r is stage 0 of round r + 1; it is over from stage 1 on."""
    clock.view_at(clock.start(0, 2))
    assert not coordinator.isRevealOver(0)
    clock.view_at(clock.start(1, 0) + 59)
    assert not coordinator.isRevealOver(0)
    assert not coordinator.isRevealOver(1)
    clock.view_at(clock.start(1, 1))
    assert coordinator.isRevealOver(0)
    assert not coordinator.isRevealOver(1)
    assert not coordinator.isRevealOver(2**256 - 1)


# ---------------------------------------------------------------- advanceStage


def test_advance_stage_before_deadline_reverts(coordinator, clock, eve, reverts):
    """The stored stage cannot be left before its deadline."""
    clock.tx_at(clock.start(0, 1) - 1)
    with reverts(coordinator.SwarmStageNotOver, deadline=clock.start(0, 1), timestamp=clock.start(0, 1) - 1):
        coordinator.advanceStage(sender=eve)


def test_advance_stage_at_deadline_succeeds(coordinator, clock, eve):
    """At the deadline anyone moves the anchor one stage on, with no round event inside a round."""
    clock.view_at(clock.start(0, 1))
    assert coordinator.advanceStage.call(sender=eve) == (0, 1)
    tx = coordinator.advanceStage(sender=eve)
    [event] = tx.events.filter(coordinator.StageAdvanced)
    assert (event.round, event.stage, event.startedAt) == (0, 1, clock.start(0, 1))
    assert list(tx.events.filter(coordinator.RoundAdvanced)) == []
    assert tuple(coordinator.anchor()) == (0, 1, clock.start(0, 1))


def test_advance_stage_skipping_stages_succeeds(coordinator, clock, eve):
    """One call skips several stages in the round, aligned to the schedule, not to the call's time."""
    clock.tx_at(clock.start(0, 2) + 33)
    tx = coordinator.advanceStage(sender=eve)
    [event] = tx.events.filter(coordinator.StageAdvanced)
    assert (event.round, event.stage, event.startedAt) == (0, 2, clock.start(0, 2))
    assert list(tx.events.filter(coordinator.RoundAdvanced)) == []
    assert tuple(coordinator.anchor()) == (0, 2, clock.start(0, 2))


def test_advance_stage_skipping_whole_rounds_succeeds(coordinator, clock, eve):
    """One call catches up many whole rounds and emits one StageAdvanced and one RoundAdvanced."""
    clock.tx_at(clock.start(57, 1) + 17)
    tx = coordinator.advanceStage(sender=eve)
    [event] = tx.events.filter(coordinator.StageAdvanced)
    assert (event.round, event.stage, event.startedAt) == (57, 1, clock.start(57, 1))
    [round_event] = tx.events.filter(coordinator.RoundAdvanced)
    assert round_event.round == 57
    assert tuple(coordinator.anchor()) == (57, 1, clock.start(57, 1))
    assert coordinator.currentRound() == 57
    assert coordinator.currentStage() == 1


def test_advance_stage_into_next_round_stage_zero_succeeds(coordinator, clock, eve):
    """Leaving the last stage enters stage 0 of the next round and emits RoundAdvanced."""
    clock.tx_in(0, 2)
    coordinator.advanceStage(sender=eve)
    clock.tx_in(1, 0)
    tx = coordinator.advanceStage(sender=eve)
    [event] = tx.events.filter(coordinator.StageAdvanced)
    assert (event.round, event.stage, event.startedAt) == (1, 0, clock.start(1, 0))
    [round_event] = tx.events.filter(coordinator.RoundAdvanced)
    assert round_event.round == 1


def test_advance_stage_twice_in_same_stage_reverts(coordinator, clock, eve, reverts):
    """After a catch-up the new stored stage again runs until its own deadline."""
    clock.tx_at(clock.start(4, 2) + 5)
    coordinator.advanceStage(sender=eve)
    clock.tx_at(clock.start(4, 2) + 6)
    with reverts(coordinator.SwarmStageNotOver, deadline=clock.start(5, 0), timestamp=clock.start(4, 2) + 6):
        coordinator.advanceStage(sender=eve)


def test_advance_stage_does_not_change_views(coordinator, clock, eve):
    """The views read the same before and after the anchor is caught up."""
    clock.view_at(clock.start(9, 1) + 3)
    before = tuple(coordinator.schedule())
    clock.tx_at(clock.start(9, 1) + 4)
    coordinator.advanceStage(sender=eve)
    after = tuple(coordinator.schedule())
    assert before[:3] == after[:3] == (9, 1, clock.start(9, 1))
    assert before[3] == after[3] == clock.start(9, 2)


def test_fuzz_views_and_advances_match_python_model(coordinator, clock, cfg, genesis, eve):
    """At random increasing times, views equal a Python model and random catch-ups land where it says."""
    rng = random.Random(20_240_601)
    t = genesis
    for _ in range(25):
        t += rng.choice([1, 7, 59, 60, 61, 179, 360, 361, 1_000, 7_777])
        if rng.random() < 0.4:
            clock.tx_at(t)
            anchor_round, anchor_stage, anchor_start = coordinator.anchor()
            stored_deadline = _expected(cfg, genesis, anchor_start)[3]
            if t >= stored_deadline:
                tx = coordinator.advanceStage(sender=eve)
                round_, stage, start, _ = _expected(cfg, genesis, t)
                [event] = tx.events.filter(coordinator.StageAdvanced)
                assert (event.round, event.stage, event.startedAt) == (round_, stage, start)
                assert len(list(tx.events.filter(coordinator.RoundAdvanced))) == int(round_ != anchor_round)
                continue
            clock.view_at(t)
        else:
            clock.view_at(t)
        assert tuple(coordinator.schedule()) == _expected(cfg, genesis, t)


# ---------------------------------------------------------------- stage durations


def test_set_stage_durations_applies_from_next_round(coordinator, clock, deployer, cfg):
    """New durations leave the round in progress alone and shape every later round."""
    clock.tx_in(0, 1, 10)
    tx = coordinator.setStageDurations([30, 40, 50], sender=deployer)
    [event] = tx.events.filter(coordinator.StageDurationsUpdated)
    assert list(event.durations) == [30, 40, 50]
    assert event.effectiveRound == 1
    assert coordinator.pendingStageDurations() == ([30, 40, 50], 1)
    assert list(coordinator.stageDurations()) == list(cfg.stages)
    assert coordinator.stageDeadline() == clock.start(0, 2)  # round 0 keeps its 120 s critique stage

    round1 = clock.start(1)  # round 0 ends on the old schedule
    clock.view_at(round1 + 30 + 39)
    assert tuple(coordinator.schedule()) == (1, 1, round1 + 30, round1 + 70)
    assert list(coordinator.stageDurations()) == [30, 40, 50]
    assert coordinator.pendingStageDurations() == ([], 0)

    clock.view_at(round1 + 120 * 10 + 70)  # ten rounds of 120 s later, no advance in between
    assert tuple(coordinator.schedule()) == (11, 2, round1 + 1_270, round1 + 1_320)


def test_set_stage_durations_then_advance_promotes_them(coordinator, clock, deployer, eve):
    """The catch-up after the change aligns to the new round length and makes the durations current."""
    clock.tx_in(0, 0, 5)
    coordinator.setStageDurations([30, 40, 50], sender=deployer)
    round1 = clock.start(1)
    clock.tx_at(round1 + 120 * 3 + 31)
    tx = coordinator.advanceStage(sender=eve)
    [event] = tx.events.filter(coordinator.StageAdvanced)
    assert (event.round, event.stage, event.startedAt) == (4, 1, round1 + 390)
    [round_event] = tx.events.filter(coordinator.RoundAdvanced)
    assert round_event.round == 4
    assert tuple(coordinator.anchor()) == (4, 1, round1 + 390)
    assert list(coordinator.stageDurations()) == [30, 40, 50]
    assert coordinator.pendingStageDurations() == ([], 0)
    assert coordinator.stageDeadline() == round1 + 430


def test_set_stage_durations_catches_up_anchor(coordinator, clock, deployer):
    """Setting durations after skipped rounds first moves the anchor, so they apply from now's next round."""
    clock.tx_in(3, 2, 1)
    tx = coordinator.setStageDurations([10, 10, 10], sender=deployer)
    [stage] = tx.events.filter(coordinator.StageAdvanced)
    assert (stage.round, stage.stage, stage.startedAt) == (3, 2, clock.start(3, 2))
    [round_event] = tx.events.filter(coordinator.RoundAdvanced)
    assert round_event.round == 3
    [event] = tx.events.filter(coordinator.StageDurationsUpdated)
    assert event.effectiveRound == 4
    assert coordinator.pendingStageDurations() == ([10, 10, 10], 4)
    clock.view_at(clock.start(4) + 25)
    assert tuple(coordinator.schedule()) == (4, 2, clock.start(4) + 20, clock.start(4) + 30)


def test_set_stage_durations_twice_in_round_last_wins(coordinator, clock, deployer):
    """A second change in the same round replaces the pending one."""
    coordinator.setStageDurations([10, 10, 10], sender=deployer)
    coordinator.setStageDurations([20, 20, 20], sender=deployer)
    assert coordinator.pendingStageDurations() == ([20, 20, 20], 1)
    clock.view_at(clock.start(1) + 45)
    assert tuple(coordinator.schedule()) == (1, 2, clock.start(1) + 40, clock.start(1) + 60)


def test_set_stage_durations_after_earlier_change_promotes_then_queues(coordinator, clock, deployer, eve):
    """A change made rounds after an earlier one first makes the earlier one current, then queues itself."""
    coordinator.setStageDurations([10, 10, 10], sender=deployer)  # rounds >= 1 last 30 s
    round1 = clock.start(1)
    clock.tx_at(round1 + 30 * 2 + 15)  # round 3, stage 1
    tx = coordinator.setStageDurations([5, 5, 5], sender=deployer)
    [stage] = tx.events.filter(coordinator.StageAdvanced)
    assert (stage.round, stage.stage, stage.startedAt) == (3, 1, round1 + 70)
    [event] = tx.events.filter(coordinator.StageDurationsUpdated)
    assert event.effectiveRound == 4
    assert list(coordinator.stageDurations()) == [10, 10, 10]
    assert coordinator.pendingStageDurations() == ([5, 5, 5], 4)
    clock.view_at(round1 + 90 + 15 * 2 + 11)  # round 4 starts at round1 + 90; round 6, stage 2
    assert tuple(coordinator.schedule()) == (6, 2, round1 + 130, round1 + 135)


def test_set_stage_durations_not_admin_reverts(coordinator, eve, reverts):
    """Only the default admin may change durations."""
    with reverts(coordinator.AccessControlUnauthorizedAccount, account=eve.address, neededRole=ADMIN_ROLE):
        coordinator.setStageDurations([1, 1, 1], sender=eve)


def test_set_stage_durations_wrong_count_reverts(coordinator, deployer, reverts):
    """The stage count is fixed at construction."""
    with reverts(coordinator.SwarmStageCountMismatch, given=2, expected=3):
        coordinator.setStageDurations([1, 1], sender=deployer)


def test_set_stage_durations_zero_reverts(coordinator, deployer, reverts):
    """A zero-second stage is rejected."""
    with reverts(coordinator.SwarmZeroStageDuration, stage=2):
        coordinator.setStageDurations([1, 1, 0], sender=deployer)
