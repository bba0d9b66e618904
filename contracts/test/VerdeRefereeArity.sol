// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {VerdeRefereeCore} from "../verde/VerdeReferee.sol";

/// @title VerdeRefereeArity
/// @notice VerdeReferee with the arities as a constructor argument, for measuring them
/// (benchmarks/bench_verde.py, tests/verde): everything else is the referee's.
contract VerdeRefereeArity is VerdeRefereeCore {
    constructor(
        IJobMarket _market,
        address _adjudicator,
        address _admin,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps,
        Arity memory _arity
    ) VerdeRefereeCore(_market, _adjudicator, _admin, _bond, _clockSeconds, _rewardBps, _arity) {}
}
