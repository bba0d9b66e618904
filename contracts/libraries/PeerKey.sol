// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PeerKey
/// @notice Reads libp2p RSA public keys and checks RSA PKCS#1 v1.5 SHA-256 signatures with the
/// modexp precompile (0x05), so a contract can prove that a caller holds a hivemind peer's key.
///
/// A libp2p public key is serialised as the protobuf `PublicKey { KeyType Type = 1; bytes Data = 2; }`
/// with `Type = RSA (0)` and `Data` the DER `SubjectPublicKeyInfo`. Its peer id is the SHA-256
/// multihash of exactly these bytes. Layout read here (lengths in DER short or long form):
///
/// | bytes                 | meaning                                              |
/// |-----------------------|------------------------------------------------------|
/// | 08 00                 | field 1 (Type), varint 0 = RSA                       |
/// | 12 <varint L>         | field 2 (Data), L bytes, must end the input          |
/// | 30 <len>              | SubjectPublicKeyInfo SEQUENCE, must end the input    |
/// | 30 0d 06 09 2a864886f70d010101 05 00 | AlgorithmIdentifier rsaEncryption, NULL |
/// | 03 <len> 00           | BIT STRING, no unused bits, must end the input       |
/// | 30 <len>              | RSAPublicKey SEQUENCE, must end the input            |
/// | 02 <len> [00] n       | modulus, minimal DER integer                         |
/// | 02 <len> e            | public exponent, minimal DER integer                 |
///
/// NOTE: Parsing is strict (every length must match and the input must be consumed exactly), so one
/// key has exactly one accepted encoding and one peer id.
/// WARNING: Only moduli of 2048 to 4096 bits are accepted; hivemind generates 2048-bit keys.
library PeerKey {
    /// @notice The key bytes are not a strictly encoded libp2p RSA public key.
    error PeerKeyMalformed(uint256 offset);
    /// @notice The modulus length (bytes) is outside 256..512.
    error PeerKeyUnsupportedSize(uint256 modulusBytes);

    /// @dev DER AlgorithmIdentifier for rsaEncryption (OID 1.2.840.113549.1.1.1) with NULL parameters.
    bytes32 private constant _RSA_ALGORITHM_ID_HASH = keccak256(hex"300d06092a864886f70d0101010500");
    /// @dev DER DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1).
    bytes19 private constant _SHA256_DIGEST_INFO = hex"3031300d060960864801650304020105000420";

    uint256 internal constant MIN_MODULUS_BYTES = 256;
    uint256 internal constant MAX_MODULUS_BYTES = 512;

    /// @notice Extract the RSA modulus and exponent from a serialised libp2p public key.
    /// @param _key The protobuf-serialised libp2p public key.
    /// @return modulus_ The modulus, big-endian, without a leading zero byte.
    /// @return exponent_ The public exponent, big-endian.
    function parseRsa(bytes calldata _key) internal pure returns (bytes calldata modulus_, bytes calldata exponent_) {
        uint256 end = _key.length;
        // Protobuf header: Type = RSA, then the Data field's tag.
        if (end < 4 || _key[0] != 0x08 || _key[1] != 0x00 || _key[2] != 0x12) revert PeerKeyMalformed(0);
        uint256 pos = 3;
        uint256 len;
        (len, pos) = _readVarint(_key, pos);
        if (pos + len != end) revert PeerKeyMalformed(pos);

        (len, pos) = _readHeader(_key, pos, 0x30);
        if (pos + len != end) revert PeerKeyMalformed(pos);

        if (pos + 15 > end || keccak256(_key[pos:pos + 15]) != _RSA_ALGORITHM_ID_HASH) revert PeerKeyMalformed(pos);
        pos += 15;

        (len, pos) = _readHeader(_key, pos, 0x03);
        if (pos + len != end || len == 0 || _key[pos] != 0x00) revert PeerKeyMalformed(pos);
        pos += 1;

        (len, pos) = _readHeader(_key, pos, 0x30);
        if (pos + len != end) revert PeerKeyMalformed(pos);

        (modulus_, pos) = _readUnsignedInteger(_key, pos);
        (exponent_, pos) = _readUnsignedInteger(_key, pos);
        if (pos != end) revert PeerKeyMalformed(pos);

        if (modulus_.length < MIN_MODULUS_BYTES || modulus_.length > MAX_MODULUS_BYTES) {
            revert PeerKeyUnsupportedSize(modulus_.length);
        }
        // SAFETY: e = 1 would make every message "signed"; an even e is not an RSA key. Bounding e to
        // 32 bytes keeps the modexp price predictable for the caller.
        if (exponent_.length > 32 || uint8(exponent_[exponent_.length - 1]) & 1 == 0) revert PeerKeyMalformed(pos);
        if (exponent_.length == 1 && uint8(exponent_[0]) < 3) revert PeerKeyMalformed(pos);
    }

    /// @notice Check an RSA PKCS#1 v1.5 signature over a SHA-256 digest.
    /// @param _digest SHA-256 of the signed message.
    /// @param _signature The signature, exactly as long as the modulus.
    /// @param _modulus The modulus (no leading zero).
    /// @param _exponent The public exponent.
    /// @return ok_ True when `_signature ^ e mod n` is the PKCS#1 v1.5 encoding of `_digest`.
    function verifyPkcs1Sha256(
        bytes32 _digest,
        bytes calldata _signature,
        bytes calldata _modulus,
        bytes calldata _exponent
    ) internal view returns (bool ok_) {
        uint256 k = _modulus.length;
        if (_signature.length != k || !_lessThan(_signature, _modulus)) return false;

        (bool success, bytes memory decoded) =
            address(0x05).staticcall(abi.encodePacked(k, _exponent.length, k, _signature, _exponent, _modulus));
        if (!success || decoded.length != k) return false;

        // EM = 00 01 FF..FF 00 || DigestInfo(SHA-256) || digest, k bytes in all (RFC 8017, 9.2).
        bytes memory expected = new bytes(k);
        bytes19 prefix = _SHA256_DIGEST_INFO;
        uint256 padEnd = k - 52; // 52 = the 00 separator + 19-byte DigestInfo prefix + 32-byte digest
        assembly ("memory-safe") {
            let p := add(expected, 32)
            // Word-wide FF fill (a byte loop costs ~20k gas for 2048-bit keys); the overshoot past
            // padEnd stays inside the array and is overwritten by the tail below.
            for { let i := 0 } lt(i, padEnd) { i := add(i, 32) } { mstore(add(p, i), not(0)) }
            mstore8(p, 0x00)
            mstore8(add(p, 1), 0x01)
            let tail := add(p, padEnd)
            mstore(tail, 0) // the 00 separator (and clears the overshoot)
            mstore(add(tail, 1), prefix) // bytes19 is left-aligned: 19 prefix bytes, then zeros
            mstore(add(tail, 20), _digest) // ends exactly at p + k
        }
        ok_ = keccak256(decoded) == keccak256(expected);
    }

    /// @dev Big-endian comparison of two equally long byte strings: `_a < _b`.
    function _lessThan(bytes calldata _a, bytes calldata _b) private pure returns (bool) {
        for (uint256 i = 0; i < _a.length; ++i) {
            if (_a[i] != _b[i]) return uint8(_a[i]) < uint8(_b[i]);
        }
        return false;
    }

    /// @dev A protobuf varint of at most two bytes (lengths below 16384).
    function _readVarint(bytes calldata _data, uint256 _pos) private pure returns (uint256 value_, uint256 pos_) {
        uint8 b0 = uint8(_data[_pos]);
        if (b0 < 0x80) return (b0, _pos + 1);
        if (_pos + 1 >= _data.length) revert PeerKeyMalformed(_pos);
        uint8 b1 = uint8(_data[_pos + 1]);
        // A second byte of 0 would be a non-minimal encoding; a continuation bit would exceed two bytes.
        if (b1 == 0 || b1 >= 0x80) revert PeerKeyMalformed(_pos);
        return (uint256(b0 & 0x7f) | (uint256(b1) << 7), _pos + 2);
    }

    /// @dev A DER tag and its definite length (short form, or long form with one or two bytes, minimal).
    function _readHeader(bytes calldata _data, uint256 _pos, uint8 _tag)
        private
        pure
        returns (uint256 len_, uint256 pos_)
    {
        if (_pos + 2 > _data.length || uint8(_data[_pos]) != _tag) revert PeerKeyMalformed(_pos);
        uint8 b = uint8(_data[_pos + 1]);
        if (b < 0x80) return (b, _pos + 2);
        if (b == 0x81) {
            if (_pos + 3 > _data.length) revert PeerKeyMalformed(_pos);
            len_ = uint8(_data[_pos + 2]);
            if (len_ < 0x80) revert PeerKeyMalformed(_pos);
            return (len_, _pos + 3);
        }
        if (b == 0x82) {
            if (_pos + 4 > _data.length) revert PeerKeyMalformed(_pos);
            len_ = (uint256(uint8(_data[_pos + 2])) << 8) | uint8(_data[_pos + 3]);
            if (len_ < 0x100) revert PeerKeyMalformed(_pos);
            return (len_, _pos + 4);
        }
        revert PeerKeyMalformed(_pos);
    }

    /// @dev A minimal, non-negative DER INTEGER; returns its magnitude without the sign byte.
    function _readUnsignedInteger(bytes calldata _data, uint256 _pos)
        private
        pure
        returns (bytes calldata value_, uint256 pos_)
    {
        uint256 len;
        (len, pos_) = _readHeader(_data, _pos, 0x02);
        if (len == 0 || pos_ + len > _data.length) revert PeerKeyMalformed(_pos);
        uint8 first = uint8(_data[pos_]);
        if (first >= 0x80) revert PeerKeyMalformed(pos_); // negative
        if (first == 0x00) {
            // A leading zero is only allowed (and then required) before a byte with its top bit set.
            if (len == 1 || uint8(_data[pos_ + 1]) < 0x80) revert PeerKeyMalformed(pos_);
            value_ = _data[pos_ + 1:pos_ + len];
        } else {
            value_ = _data[pos_:pos_ + len];
        }
        pos_ += len;
    }
}
