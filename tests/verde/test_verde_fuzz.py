"""VerdeReferee property: an honest party never ends the Steps narrowing on the wrong side, whatever the liar does.

The liar diverges at a random step and, at each position of a round, either commits consistently with its
divergent run or commits something random. The pinned step must then have the honest state agreed at `lo` and
the honest party's root at `hi` equal to the honest root, so a committee that recomputes one step sides with
it; the game must take at most the rounds of a 16-ary narrowing over T and the bonds must end with the honest
party.

Run: `.venv/bin/ape test tests/verde/test_verde_fuzz.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import Phase as HypothesisPhase
from hypothesis import strategies as st
from jobmarket_support import isolated
from verde_support import BOND, SPEC_HASH, STEPS_ARITY, Party, honest_root, liar, narrow_rounds


@settings(
    max_examples=6,
    deadline=None,
    phases=[
        HypothesisPhase.explicit,
        HypothesisPhase.reuse,
        HypothesisPhase.generate,
    ],  # shrinking replays chains: too slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    steps=st.integers(min_value=1, max_value=64),
    honest_defends=st.booleans(),
)
def test_fuzz_bisect_honest_party_never_loses(
    h, market, referee, chain, post_roots, open_solver, bob, carol, data, steps, honest_defends
):
    """Against a liar diverging anywhere and answering at random, the honest party wins the pinned step."""
    bad = data.draw(st.integers(min_value=1, max_value=steps), label="bad")
    random_answers = data.draw(st.lists(st.booleans(), min_size=8, max_size=8), label="random_answers")
    consistent = liar(bad)
    calls = iter(random_answers * 2)

    def lying(step: int) -> bytes:
        return keccak(step.to_bytes(8, "big") + b"noise") if next(calls, False) else consistent(step)

    honest, dishonest = (bob, carol) if honest_defends else (carol, bob)
    with isolated(chain):
        job_id = h.start(steps=steps, checkpointInterval=steps)
        post_roots(job_id, honest, honest_root, 1)
        post_roots(job_id, dishonest, consistent, 1)
        game = open_solver(job_id, carol, bob, 1)
        defender_root, challenger_root = (honest_root, lying) if honest_defends else (lying, honest_root)

        rounds = game.play(defender_root, challenger_root)
        d = referee.disputeOf(game.dispute_id)
        assert rounds <= narrow_rounds(steps, STEPS_ARITY)
        assert d.agreedRoot == (SPEC_HASH if d.lo == 0 else honest_root(d.lo))
        honest_at_hi = d.defenderRoot if honest_defends else d.challengerRoot
        assert honest_at_hi == honest_root(d.hi)

        game.resolve(Party.DEFENDER if honest_defends else Party.CHALLENGER)
        assert referee.bondCredit(honest) == BOND and referee.bondCredit(dishonest) == 0
        assert ape.chain.provider.get_balance(referee.address) == BOND
        assert market.solverOf(job_id, dishonest).slashed and market.solverOf(job_id, honest).disputes == 0
