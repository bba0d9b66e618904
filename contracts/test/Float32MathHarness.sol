// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Float32} from "../libraries/Float32.sol";
import {Float32Math} from "../libraries/Float32Math.sol";

/// @title Float32MathHarness
/// @notice Exposes Float32Math for tests, one element or a batch per call (a batch is one eth_call, which keeps
/// hundreds of differential vectors cheap on py-evm).
/// NOTE: Tests only; never deployed outside a test network.
contract Float32MathHarness {
    /// @notice Float32Math.exp, `_op` 0; log, 1; tanh, 2; over every element.
    /// @param _op Which function.
    /// @param _xs The arguments' bit patterns.
    /// @return ys_ The results' bit patterns.
    function batch(uint8 _op, uint32[] calldata _xs) external pure returns (uint32[] memory ys_) {
        ys_ = new uint32[](_xs.length);
        for (uint256 i = 0; i < _xs.length; ++i) {
            Float32 x = Float32.wrap(_xs[i]);
            Float32 y = _op == 0 ? Float32Math.exp(x) : _op == 1 ? Float32Math.log(x) : Float32Math.tanh(x);
            ys_[i] = Float32.unwrap(y);
        }
    }
}
