// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title KaryBisection
/// @notice The range and chess-clock math of a k-ary bisection game over plain numbers, with no dispute
/// layout of its own: the Verde referee uses it through `Bisection` (which applies it to a Verde dispute in
/// storage) and the rollup's `OutputDispute` directly, so both games cut ranges and charge clocks alike.
///
/// A range `(lo, hi]` holds `n = hi - lo` positions; both parties agree on the commitment at `lo` and disagree
/// at `hi`. A round cuts it at `count = min(k - 1, n - 1)` points spread evenly inside it, so it leaves one of
/// `count + 1` pieces, each at most `ceil(n / (count + 1))` long: a range of `n` is pinned to one position
/// (`hi == lo + 1`) in about `log_k n` rounds.
///
/// Clocks: each side has a chess clock, `left` seconds, spent only on its own turns. A move is accepted while
/// `now <= startedAt + left` (the move's deadline); once `now` is past it the side loses by timeout.
library KaryBisection {
    // ---------------------------------------------------------------- range

    /// @notice How many points a round over `(lo, lo + n]` posts: `min(k - 1, n - 1)`.
    /// @param _n The range's length, `hi - lo` (>= 1).
    /// @param _k The arity (>= 2).
    /// @return count_ The number of points.
    function pointCount(uint256 _n, uint256 _k) internal pure returns (uint256 count_) {
        count_ = _n - 1 < _k - 1 ? _n - 1 : _k - 1;
    }

    /// @notice Point `_j` of `_count` over a range of `_n` from `_lo`: `lo + n (j + 1) / (count + 1)`.
    /// The points increase strictly and lie strictly inside `(lo, lo + n)`.
    /// @param _lo The range's last agreed position.
    /// @param _n The range's length (< 2^64, >= count + 1).
    /// @param _count The round's number of points (`pointCount`, <= 31).
    /// @param _j The point (< count).
    /// @return point_ The position.
    function point(uint256 _lo, uint256 _n, uint256 _count, uint256 _j) internal pure returns (uint64 point_) {
        // SAFETY: n < 2^64 and j + 1 <= count <= 31, so nothing overflows; the points increase strictly because
        // n >= count + 1, and lie in (lo, lo + n) because 1 <= n (j + 1) / (count + 1) < n.
        unchecked {
            point_ = uint64(_lo + (_n * (_j + 1)) / (_count + 1));
        }
    }

    /// @notice The positions of a k-ary round over `(lo, hi]` (not pinned): `pointCount(hi - lo, k)` points.
    /// @param _lo The last agreed position.
    /// @param _hi The first disputed position (> lo + 1).
    /// @param _k The arity.
    /// @return pos_ The positions, strictly increasing, strictly inside `(lo, hi)`.
    function positions(uint256 _lo, uint256 _hi, uint256 _k) internal pure returns (uint64[] memory pos_) {
        uint256 n = _hi - _lo;
        uint256 count = pointCount(n, _k);
        pos_ = new uint64[](count);
        for (uint256 j; j < count; ++j) {
            pos_[j] = point(_lo, n, count, j);
        }
    }

    /// @notice The piece `_j` (0..count) of a round's cut of `(lo, hi]`: from point `j - 1` (or `lo`) to point
    /// `j` (or `hi`). The piece where the parties first differ is the next range.
    /// @param _lo The last agreed position.
    /// @param _hi The first disputed position.
    /// @param _count The round's number of points.
    /// @param _j The piece (<= count; the caller checked).
    /// @return lo_ The piece's first (agreed) end.
    /// @return hi_ The piece's last (disputed) end.
    function piece(uint256 _lo, uint256 _hi, uint256 _count, uint256 _j)
        internal
        pure
        returns (uint64 lo_, uint64 hi_)
    {
        uint256 n = _hi - _lo;
        lo_ = _j == 0 ? uint64(_lo) : point(_lo, n, _count, _j - 1);
        hi_ = _j == _count ? uint64(_hi) : point(_lo, n, _count, _j);
    }

    // ---------------------------------------------------------------- clocks

    /// @notice When a side whose turn started at `_startedAt` with `_left` seconds on its clock runs out.
    /// @param _startedAt Unix seconds when the turn started.
    /// @param _left Seconds left on the side's clock.
    /// @return deadline_ The last second at which the side may still move.
    function deadline(uint64 _startedAt, uint64 _left) internal pure returns (uint64 deadline_) {
        deadline_ = _startedAt + _left;
    }

    /// @notice The side's clock after a move now: `left - (now - startedAt)`. The caller checked that
    /// `now <= deadline(startedAt, left)`.
    /// @param _startedAt Unix seconds when the turn started.
    /// @param _left Seconds left on the side's clock.
    /// @return left_ Seconds left after the move.
    function spend(uint64 _startedAt, uint64 _left) internal view returns (uint64 left_) {
        // SAFETY: startedAt <= now <= startedAt + left (checked by the caller), so neither subtraction
        // underflows.
        unchecked {
            left_ = _left - (uint64(block.timestamp) - _startedAt);
        }
    }
}
