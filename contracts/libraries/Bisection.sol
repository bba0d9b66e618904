// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IVerdeTypes} from "../interfaces/IVerdeTypes.sol";

/// @title Bisection
/// @notice Range and clock math of the Verde dispute game, over a dispute held in storage.
///
/// The range `(lo, hi]` always satisfies: both parties agree on the commitment at `lo` (`agreedRoot`) and
/// disagree at `hi` (`challengerRoot != defenderRoot`). A round is one defender commitment at the midpoint
/// followed by the challenger's answer; the answer halves the range, so a range of `n` positions is
/// pinned to one (`hi == lo + 1`) in `ceil(log2 n)` rounds.
///
/// Clocks: each side has a chess clock; only the side to move spends time. A move is accepted while
/// `now <= turnStartedAt + clock` and the side loses by timeout once `now` is past that deadline.
library Bisection {
    // ---------------------------------------------------------------- range

    /// @notice The position the next commitment is for: floor((lo + hi) / 2), strictly inside `(lo, hi)`
    /// whenever the range is not pinned.
    /// @param _d The dispute.
    /// @return position_ The midpoint.
    function midpoint(IVerdeTypes.Dispute storage _d) internal view returns (uint64 position_) {
        // SAFETY: hi > lo always, so hi - lo cannot underflow; lo + (hi - lo) / 2 cannot overflow.
        unchecked {
            position_ = _d.lo + (_d.hi - _d.lo) / 2;
        }
    }

    /// @notice Whether the range holds a single disputed position.
    /// @param _d The dispute.
    /// @return pinned_ True when `hi == lo + 1`.
    function pinned(IVerdeTypes.Dispute storage _d) internal view returns (bool pinned_) {
        pinned_ = _d.hi - _d.lo == 1;
    }

    /// @notice The challenger's answer to the defender's pending midpoint commitment: an equal commitment
    /// moves the agreed end up to the midpoint, a different one the disputed end down.
    /// @param _d The dispute.
    /// @param _commitment The challenger's commitment at the midpoint.
    /// @return agreed_ True when the challenger agreed with the defender.
    function answer(IVerdeTypes.Dispute storage _d, bytes32 _commitment) internal returns (bool agreed_) {
        uint64 mid = midpoint(_d);
        agreed_ = _commitment == _d.pendingRoot;
        if (agreed_) {
            _d.lo = mid;
            _d.agreedRoot = _commitment;
        } else {
            // INVARIANT: the roots at `hi` differ, because the two commitments at `mid` did.
            _d.hi = mid;
            _d.challengerRoot = _commitment;
            _d.defenderRoot = _d.pendingRoot;
        }
        _d.pendingRoot = bytes32(0);
    }

    // ---------------------------------------------------------------- clocks

    /// @notice When the side to move runs out of time.
    /// @param _d The dispute.
    /// @return deadline_ Unix seconds (0 when nobody is to move).
    function deadline(IVerdeTypes.Dispute storage _d) internal view returns (uint64 deadline_) {
        IVerdeTypes.Party turn = _d.turn;
        if (turn == IVerdeTypes.Party.None) return 0;
        uint64 left = turn == IVerdeTypes.Party.Challenger ? _d.challengerClock : _d.defenderClock;
        deadline_ = _d.turnStartedAt + left;
    }

    /// @notice Charge the side to move for the time since its turn started and restart the turn now.
    /// The caller checked that the deadline has not passed.
    /// @param _d The dispute.
    function charge(IVerdeTypes.Dispute storage _d) internal {
        // SAFETY: now <= deadline = turnStartedAt + clock (checked by the caller), so neither subtraction
        // underflows.
        unchecked {
            uint64 spent = uint64(block.timestamp) - _d.turnStartedAt;
            if (_d.turn == IVerdeTypes.Party.Challenger) _d.challengerClock -= spent;
            else _d.defenderClock -= spent;
        }
        _d.turnStartedAt = uint64(block.timestamp);
    }
}
