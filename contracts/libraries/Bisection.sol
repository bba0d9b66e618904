// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVerdeTypes} from "../interfaces/IVerdeTypes.sol";
import {KaryBisection} from "./KaryBisection.sol";

/// @title Bisection
/// @notice Range and clock math of the Verde dispute game, over a dispute held in storage: KaryBisection's
/// generic math (shared with the rollup's OutputDispute) applied to an IVerdeTypes.Dispute.
///
/// The range `(lo, hi]` always satisfies: both parties agree on the commitment at `lo` (`agreedRoot`) and
/// disagree at `hi` (`challengerRoot != defenderRoot`). A round of a k-ary narrowing is the defender's values at
/// up to `k - 1` points spread evenly inside the range, then the challenger's at the same points; the range
/// becomes the one between the last point both agree on (or `lo`) and the first where they differ (or `hi`),
/// so a range of `n` positions is pinned to one (`hi == lo + 1`) in about `log_k n` rounds.
///
/// Clocks: each side has a chess clock; only the side to move spends time. A move is accepted while
/// `now <= turnStartedAt + clock` and the side loses by timeout once `now` is past that deadline.
library Bisection {
    // ---------------------------------------------------------------- range

    /// @notice How many points the next round posts: `min(k - 1, hi - lo - 1)`.
    /// @param _d The dispute (not pinned).
    /// @param _k The arity (2..32).
    /// @return count_ The number of points.
    function pointCount(IVerdeTypes.Dispute storage _d, uint256 _k) internal view returns (uint256 count_) {
        count_ = KaryBisection.pointCount(_d.hi - _d.lo, _k);
    }

    /// @notice The positions of the next round: `count = pointCount(k)` points
    /// `lo + (hi - lo) * (i + 1) / (count + 1)`, strictly increasing and strictly inside `(lo, hi)`.
    /// @param _d The dispute (not pinned).
    /// @param _k The arity (2..32).
    /// @return pos_ The positions.
    function positions(IVerdeTypes.Dispute storage _d, uint256 _k) internal view returns (uint64[] memory pos_) {
        pos_ = KaryBisection.positions(_d.lo, _d.hi, _k);
    }

    /// @notice Narrow the range to the first point `_j` where the two parties' values differ (`_j` is the
    /// number of points they agree on first): `lo` moves to the last agreed point, `hi` to the first differing
    /// one (it stays when they agree everywhere, `_j == count`).
    /// @param _d The dispute.
    /// @param _count The round's number of points (`pointCount`).
    /// @param _challenger The challenger's values at the points.
    /// @param _defender The defender's value at point `_j` (unused when `_j == count`).
    /// @param _j The first index where they differ.
    function narrowTo(
        IVerdeTypes.Dispute storage _d,
        uint256 _count,
        bytes32[] calldata _challenger,
        bytes32 _defender,
        uint256 _j
    ) internal {
        uint256 lo = _d.lo;
        uint256 n = _d.hi - lo;
        if (_j > 0) {
            _d.lo = KaryBisection.point(lo, n, _count, _j - 1);
            _d.agreedRoot = _challenger[_j - 1];
        }
        if (_j < _count) {
            // INVARIANT: the roots at the new `hi` differ, because the two values at point `_j` do.
            _d.hi = KaryBisection.point(lo, n, _count, _j);
            _d.challengerRoot = _challenger[_j];
            _d.defenderRoot = _defender;
        }
    }

    /// @notice Whether the range holds a single disputed position.
    /// @param _d The dispute.
    /// @return pinned_ True when `hi == lo + 1`.
    function pinned(IVerdeTypes.Dispute storage _d) internal view returns (bool pinned_) {
        pinned_ = _d.hi - _d.lo == 1;
    }

    // ---------------------------------------------------------------- clocks

    /// @notice When the side to move runs out of time.
    /// @param _d The dispute.
    /// @return deadline_ Unix seconds (0 when nobody is to move).
    function deadline(IVerdeTypes.Dispute storage _d) internal view returns (uint64 deadline_) {
        IVerdeTypes.Party turn = _d.turn;
        if (turn == IVerdeTypes.Party.None) return 0;
        uint64 left = turn == IVerdeTypes.Party.Challenger ? _d.challengerClock : _d.defenderClock;
        deadline_ = KaryBisection.deadline(_d.turnStartedAt, left);
    }

    /// @notice Charge the side to move for the time since its turn started and restart the turn now.
    /// The caller checked that the deadline has not passed.
    /// @param _d The dispute.
    function charge(IVerdeTypes.Dispute storage _d) internal {
        uint64 started = _d.turnStartedAt;
        if (_d.turn == IVerdeTypes.Party.Challenger) {
            _d.challengerClock = KaryBisection.spend(started, _d.challengerClock);
        } else {
            _d.defenderClock = KaryBisection.spend(started, _d.defenderClock);
        }
        _d.turnStartedAt = uint64(block.timestamp);
    }
}
