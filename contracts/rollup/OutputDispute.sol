// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {IOutputDispute} from "../interfaces/IOutputDispute.sol";
import {IOutputDisputeOracle} from "../interfaces/IOutputDisputeOracle.sol";
import {KaryBisection} from "../libraries/KaryBisection.sol";

/// @title OutputDispute
/// @notice The rollup's output dispute game: k-ary bisection over the L2 blocks of a disputed output, then over
/// the transactions of the one block found, down to ONE transaction from an agreed pre-state root, which the
/// m-of-n attestor committee decides (IOutputDispute has the whole game; docs/rollup.md, "Output disputes").
///
/// Why it is built this way:
/// - No EVM runs on L1, so the last step is judged by the committee, the same m-of-n mechanism as the Verde
///   referee's fallback (epochs, EIP-191 signatures over a digest, the committee of the dispute's opening). The
///   Verde referee lives on the L2, so its committee cannot be called from here; its members are set here by
///   governance. What the committee judges is on chain before it signs (events and calldata), hashed into the
///   dispute's `record`, which its digest binds: anyone can replay the step and check the verdict.
/// - The range and clock math is KaryBisection's, the library the Verde referee's Bisection uses too. The
///   defender posts its roots at the round's points and the challenger picks a piece, repeating the roots
///   (checked against their hash) instead of the contract storing them: a 15-root round costs calldata, not
///   fifteen storage slots.
/// - The transaction bisection is tied to the outputs by their preimages, checked by keccak: the agreed
///   output of `b - 1` gives the first point (its state root) and the parent block hash; the disputed output of
///   `b` gives the last point (its state root) and the block hash, whose header gives the transactions root.
/// - A dispute keeps the identity of the output it disputes (`outputKey`): an earlier dispute may delete it
///   (the oracle deletes every later output with a removed one) and the index may be proposed again. Such a
///   dispute still settles the challenger's bond between its sides, and leaves the new output alone.
/// CAUTION: This contract must hold the oracle's DISPUTE_ROLE, and the oracle must not finalize a disputed
/// output.
contract OutputDispute is IOutputDispute, AccessControl, ReentrancyGuardTransient {
    /// @notice Semantic version of this contract.
    string public constant version = "0.1.0";

    /// @notice Upper bound on the committee size; bounds the signature loop.
    uint256 public constant MAX_COMMITTEE = 32;

    /// @dev The largest arity: a round carries at most 31 roots.
    uint256 internal constant _MAX_ARITY = 32;

    /// @dev The output oracle (this contract holds its DISPUTE_ROLE).
    IOutputDisputeOracle internal immutable _ORACLE;
    /// @dev The output root at the oracle's starting block.
    bytes32 internal immutable _STARTING_OUTPUT_ROOT;
    /// @dev The challenger's bond, in wei.
    uint256 internal immutable _BOND;
    /// @dev Each side's clock per dispute, and the committee's, in seconds.
    uint64 internal immutable _CLOCK_SECONDS;
    /// @dev The arities of the block and the transaction bisections.
    uint8 internal immutable _BLOCKS_ARITY;
    uint8 internal immutable _TXS_ARITY;

    /// @dev One committee: its members and the signatures it needs (0: no committee).
    struct Committee {
        address[] members;
        uint256 threshold;
    }

    uint256 internal _disputeCount;
    mapping(uint256 disputeId => Dispute) internal _disputes;
    mapping(bytes32 outputKey => uint256 disputeId) internal _liveByOutput;
    mapping(address account => uint256 wei_) internal _bondCredit;
    uint32 internal _committeeEpoch;
    mapping(uint32 epoch => Committee) internal _committees;
    mapping(uint32 epoch => mapping(address account => bool)) internal _isMember;

    /// @param _oracle The output oracle (grant this contract its DISPUTE_ROLE).
    /// @param _admin Governance: DEFAULT_ADMIN_ROLE, sets the committee.
    /// @param _startingOutputRoot The output root of the oracle's starting block (the L2 genesis output).
    /// @param _bond The challenger's bond, in wei (> 0).
    /// @param _clockSeconds Each side's clock, and the committee's, in seconds (> 0).
    /// @param _blocksArity The block bisection's arity (2..32).
    /// @param _txsArity The transaction bisection's arity (2..32).
    constructor(
        IOutputDisputeOracle _oracle,
        address _admin,
        bytes32 _startingOutputRoot,
        uint256 _bond,
        uint64 _clockSeconds,
        uint8 _blocksArity,
        uint8 _txsArity
    ) {
        // INVARIANT: a zero bond would make disputes free, a zero clock unplayable.
        if (
            address(_oracle) == address(0) || _bond == 0 || _clockSeconds == 0 || _blocksArity < 2
                || _blocksArity > _MAX_ARITY || _txsArity < 2 || _txsArity > _MAX_ARITY
        ) revert OutputDisputeBadConfig();
        _ORACLE = _oracle;
        _STARTING_OUTPUT_ROOT = _startingOutputRoot;
        _BOND = _bond;
        _CLOCK_SECONDS = _clockSeconds;
        _BLOCKS_ARITY = _blocksArity;
        _TXS_ARITY = _txsArity;
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    // ---------------------------------------------------------------- opening

    /// @inheritdoc IOutputDispute
    function openDispute(uint256 _outputIndex) external payable nonReentrant returns (uint256 disputeId_) {
        if (msg.value != _BOND) revert OutputDisputeWrongBond(msg.value, _BOND);
        (bool exists, bytes32 key, IOutputDisputeOracle.OutputProposal memory output) = _outputAt(_outputIndex);
        if (!exists) revert OutputDisputeUnknownOutput(_outputIndex);
        // INVARIANT: one live dispute per output; the proposer defends one game at a time.
        uint256 live = _liveByOutput[key];
        if (live != 0) revert OutputDisputeAlreadyDisputed(_outputIndex, live);
        address proposer = _ORACLE.proposerOf(_outputIndex);
        if (proposer == msg.sender) revert OutputDisputeSelfDispute(msg.sender);

        // The agreed start: the output before, or the starting output.
        uint256 lo;
        bytes32 agreed;
        if (_outputIndex == 0) {
            (lo, agreed) = (_ORACLE.startingBlockNumber(), _STARTING_OUTPUT_ROOT);
        } else {
            IOutputDisputeOracle.OutputProposal memory prior = _ORACLE.getL2Output(_outputIndex - 1);
            (lo, agreed) = (prior.l2BlockNumber, prior.outputRoot);
        }
        uint256 hi = output.l2BlockNumber;
        if (hi <= lo || hi > type(uint64).max) revert OutputDisputeEmptyRange(_outputIndex, lo, hi);

        disputeId_ = ++_disputeCount;
        _liveByOutput[key] = disputeId_;
        Dispute storage d = _disputes[disputeId_];
        d.challenger = msg.sender;
        d.phase = Phase.Blocks;
        d.turn = Party.Defender;
        d.defender = proposer;
        d.turnStartedAt = uint64(block.timestamp);
        d.committeeEpoch = _committeeEpoch;
        d.challengerClock = _CLOCK_SECONDS;
        d.defenderClock = _CLOCK_SECONDS;
        d.lo = uint64(lo);
        d.hi = uint64(hi);
        d.outputIndex = uint64(_outputIndex);
        d.outputKey = key;
        d.agreedRoot = agreed;
        d.disputedRoot = output.outputRoot;
        emit DisputeOpened(
            disputeId_, _outputIndex, msg.sender, proposer, uint64(lo), uint64(hi), agreed, output.outputRoot
        );
        // A one-block output is pinned from the start.
        if (hi - lo == 1) _pinBlock(disputeId_, d);

        _ORACLE.setDisputed(_outputIndex, true);
    }

    // ---------------------------------------------------------------- bisection (Blocks, Transactions)

    /// @inheritdoc IOutputDispute
    function postRoots(uint256 _disputeId, bytes32[] calldata _roots) external {
        Dispute storage d = _disputes[_disputeId];
        Phase phase = d.phase;
        uint256 k = _arityOf(_disputeId, phase);
        _move(_disputeId, d, Party.Defender);
        uint64 lo = d.lo;
        uint64 hi = d.hi;
        uint256 count = KaryBisection.pointCount(hi - lo, k);
        if (_roots.length != count) revert OutputDisputeBadWidth(_disputeId, _roots.length, count);
        d.pendingRoots = keccak256(abi.encodePacked(_roots));
        d.turn = Party.Challenger;
        emit RootsPosted(_disputeId, phase, lo, hi, _roots);
    }

    /// @inheritdoc IOutputDispute
    function pick(uint256 _disputeId, uint256 _piece, bytes32[] calldata _roots) external {
        Dispute storage d = _disputes[_disputeId];
        Phase phase = d.phase;
        _arityOf(_disputeId, phase);
        _move(_disputeId, d, Party.Challenger);
        // The roots are this round's (the defender posted exactly `pointCount` of them).
        if (keccak256(abi.encodePacked(_roots)) != d.pendingRoots) revert OutputDisputeRootsMismatch(_disputeId);
        uint256 count = _roots.length;
        if (_piece > count) revert OutputDisputeBadPick(_disputeId, _piece, count);
        // INVARIANT: the challenger agrees at the piece's start and disputes its end, so the range keeps an agreed
        // root at `lo` and the defender's disputed root at `hi`.
        (uint64 lo, uint64 hi) = KaryBisection.piece(d.lo, d.hi, count, _piece);
        if (_piece > 0) d.agreedRoot = _roots[_piece - 1];
        if (_piece < count) d.disputedRoot = _roots[_piece];
        d.lo = lo;
        d.hi = hi;
        d.pendingRoots = bytes32(0);
        d.turn = Party.Defender;
        emit IntervalPicked(_disputeId, phase, _piece, lo, hi);
        if (hi - lo != 1) return;
        if (phase == Phase.Blocks) _pinBlock(_disputeId, d);
        else _pinStep(_disputeId, d);
    }

    // ---------------------------------------------------------------- the pinned block

    /// @inheritdoc IOutputDispute
    function revealBlock(
        uint256 _disputeId,
        OutputRootProof calldata _pre,
        OutputRootProof calldata _post,
        bytes calldata _header,
        uint32 _txCount
    ) external {
        Dispute storage d = _disputes[_disputeId];
        _inPhase(_disputeId, d, Phase.Block);
        _move(_disputeId, d, Party.Defender);
        _checkPreimage(_disputeId, _pre, d.agreedRoot);
        _checkPreimage(_disputeId, _post, d.disputedRoot);
        if (keccak256(_header) != _post.latestBlockhash) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.Hash);
        (bytes32 parent, bytes32 stateRoot, bytes32 txRoot, uint256 number) = _parseHeader(_disputeId, _header);
        if (parent != _pre.latestBlockhash) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.Parent);
        if (stateRoot != _post.stateRoot) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.StateRoot);
        uint64 b = d.l2Block;
        if (number != b) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.Number);

        // From here the bisection is over state roots: the block's pre-state (agreed) and the defender's post.
        d.blockOutputRoot = d.disputedRoot;
        d.blockHash = _post.latestBlockhash;
        d.agreedRoot = _pre.stateRoot;
        d.disputedRoot = stateRoot;
        d.txCount = _txCount;
        d.turn = Party.Challenger;
        emit BlockRevealed(_disputeId, b, _pre, _post, txRoot, _txCount, _header);
    }

    /// @inheritdoc IOutputDispute
    function disputeTransactions(uint256 _disputeId, bytes32 _stateRoot) external {
        Dispute storage d = _disputes[_disputeId];
        _inPhase(_disputeId, d, Phase.Block);
        _move(_disputeId, d, Party.Challenger);
        if (_stateRoot == d.disputedRoot) revert OutputDisputeRootsAgree(_disputeId, _stateRoot);
        uint32 n = d.txCount;
        uint64 steps = n == 0 ? 1 : n;
        d.challengerRoot = _stateRoot;
        d.kind = Kind.Transaction;
        d.phase = Phase.Transactions;
        d.lo = 0;
        d.hi = steps;
        d.turn = Party.Defender;
        emit TransactionsDisputed(_disputeId, _stateRoot, steps);
        if (steps == 1) _pinStep(_disputeId, d);
    }

    /// @inheritdoc IOutputDispute
    function disputeBlock(uint256 _disputeId) external {
        Dispute storage d = _disputes[_disputeId];
        _inPhase(_disputeId, d, Phase.Block);
        _move(_disputeId, d, Party.Challenger);
        // The committee replays the block from its pre-state (agreedRoot) and judges the output root of b.
        d.kind = Kind.Block;
        d.phase = Phase.Evidence;
        d.turn = Party.Defender;
        emit BlockDisputed(_disputeId, d.l2Block);
    }

    // ---------------------------------------------------------------- evidence and verdict

    /// @inheritdoc IOutputDispute
    function postEvidence(
        uint256 _disputeId,
        bytes32 _postRoot,
        bytes calldata _transaction,
        bytes calldata _witness
    ) external {
        Dispute storage d = _disputes[_disputeId];
        _inPhase(_disputeId, d, Phase.Evidence);
        Party side = d.turn;
        _move(_disputeId, d, side);
        bytes32 claim = d.kind == Kind.Block ? d.blockOutputRoot : d.disputedRoot;
        bytes32 evidence = keccak256(abi.encode(keccak256(_transaction), keccak256(_witness)));
        if (side == Party.Defender) {
            if (_postRoot != claim) revert OutputDisputeBadPostRoot(_disputeId, claim, _postRoot);
            d.defenderEvidence = evidence;
            d.turn = Party.Challenger;
        } else {
            if (_postRoot == claim) revert OutputDisputeRootsAgree(_disputeId, _postRoot);
            d.challengerRoot = _postRoot;
        }
        emit EvidencePosted(_disputeId, side, _postRoot, _transaction, _witness);
        if (side == Party.Challenger) _seal(_disputeId, d, claim, evidence);
    }

    /// @inheritdoc IOutputDispute
    function resolveByCommittee(uint256 _disputeId, Party _winner, bytes[] calldata _signatures)
        external
        nonReentrant
    {
        Dispute storage d = _disputes[_disputeId];
        _inPhase(_disputeId, d, Phase.Committee);
        uint64 until = d.turnStartedAt + _CLOCK_SECONDS;
        // INVARIANT: the committee decides within its one clock; after it only `timeout` can end the dispute.
        if (block.timestamp > until) revert OutputDisputeClockExpired(_disputeId, Party.None, until);
        if (_winner != Party.Challenger && _winner != Party.Defender) {
            revert OutputDisputeBadWinner(_disputeId, _winner);
        }
        _checkSignatures(_disputeId, d.committeeEpoch, _digest(_disputeId, d.record, _winner), _signatures);
        _resolve(_disputeId, d, _winner, Resolution.Committee);
    }

    /// @inheritdoc IOutputDispute
    function timeout(uint256 _disputeId) external nonReentrant {
        Dispute storage d = _dispute(_disputeId);
        Phase phase = d.phase;
        if (phase == Phase.Resolved) revert OutputDisputeResolved(_disputeId);
        if (phase == Phase.Committee) {
            uint64 until = d.turnStartedAt + _CLOCK_SECONDS;
            if (block.timestamp <= until) revert OutputDisputeClockRunning(_disputeId, Party.None, until);
            return _resolve(_disputeId, d, Party.None, Resolution.Expired);
        }
        Party turn = d.turn;
        uint64 deadline = _deadline(d);
        // INVARIANT: a mover keeps its turn up to and including its deadline.
        if (block.timestamp <= deadline) revert OutputDisputeClockRunning(_disputeId, turn, deadline);
        _resolve(_disputeId, d, turn == Party.Challenger ? Party.Defender : Party.Challenger, Resolution.Timeout);
    }

    /// @inheritdoc IOutputDispute
    function withdrawBond() external nonReentrant returns (uint256 amount_) {
        amount_ = _bondCredit[msg.sender];
        if (amount_ == 0) revert OutputDisputeNothingToWithdraw(msg.sender);
        _bondCredit[msg.sender] = 0;
        emit BondWithdrawn(msg.sender, amount_);
        Address.sendValue(payable(msg.sender), amount_);
    }

    /// @inheritdoc IOutputDispute
    function setCommittee(address[] calldata _members, uint256 _threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 n = _members.length;
        if (n == 0 || n > MAX_COMMITTEE || _threshold == 0 || _threshold > n) {
            revert OutputDisputeBadCommitteeSetup(n, _threshold);
        }
        // A new epoch, never an edit: the judges of a dispute are fixed when it opens.
        uint32 epoch = ++_committeeEpoch;
        mapping(address => bool) storage isMember = _isMember[epoch];
        for (uint256 i; i < n; ++i) {
            address member = _members[i];
            // INVARIANT: members are distinct and non-zero (ecrecover failures never count).
            if (member == address(0) || isMember[member]) revert OutputDisputeBadCommitteeSetup(n, _threshold);
            isMember[member] = true;
        }
        _committees[epoch] = Committee(_members, _threshold);
        emit CommitteeSet(epoch, _members, _threshold);
    }

    // ---------------------------------------------------------------- internal rules

    /// @dev The block range is one block: the defender reveals it next.
    function _pinBlock(uint256 _disputeId, Dispute storage _d) private {
        uint64 b = _d.hi;
        _d.l2Block = b;
        _d.phase = Phase.Block;
        emit BlockPinned(_disputeId, b, _d.agreedRoot, _d.disputedRoot);
    }

    /// @dev The transaction range is one step: both sides post their evidence next, the defender first.
    function _pinStep(uint256 _disputeId, Dispute storage _d) private {
        uint32 i = uint32(_d.lo);
        _d.txIndex = i;
        _d.phase = Phase.Evidence;
        emit TransactionPinned(_disputeId, _d.l2Block, i, _d.agreedRoot, _d.disputedRoot);
    }

    /// @dev Both sides posted their evidence: hash everything the committee judges into the record (see
    /// `RecordSealed`) and start the committee's one clock.
    function _seal(uint256 _disputeId, Dispute storage _d, bytes32 _claim, bytes32 _evidence) private {
        Kind kind = _d.kind;
        bytes32 record = keccak256(
            abi.encode(
                kind,
                _d.l2Block,
                _d.txIndex,
                _d.txCount,
                _d.blockHash,
                _d.agreedRoot,
                _claim,
                _d.challengerRoot,
                _d.defenderEvidence,
                _evidence
            )
        );
        _d.record = record;
        _d.phase = Phase.Committee;
        _d.turn = Party.None;
        _d.turnStartedAt = uint64(block.timestamp);
        emit RecordSealed(_disputeId, kind, record);
    }

    /// @dev Decide the dispute: credit the challenger's bond, then tell the oracle (the external call last).
    /// `_winner` is None when the committee's clock expired.
    function _resolve(uint256 _disputeId, Dispute storage _d, Party _winner, Resolution _how) private {
        address challenger = _d.challenger;
        address defender = _d.defender;
        uint256 index = _d.outputIndex;
        _d.phase = Phase.Resolved;
        _d.turn = Party.None;
        _d.winner = _winner;
        _d.how = _how;
        _d.pendingRoots = bytes32(0);
        delete _liveByOutput[_d.outputKey];
        // INVARIANT: the one bond held here, the challenger's, is credited exactly once: to the proposer when it
        // wins, else back to the challenger.
        _bondCredit[_winner == Party.Defender ? defender : challenger] += _BOND;

        // The output may be gone already (an earlier output's dispute deleted it with every later one); a
        // proposal made at the same index since then is another output, not this dispute's.
        (bool exists, bytes32 key,) = _outputAt(index);
        bool present = exists && key == _d.outputKey;
        bool remove = present && _winner != Party.Defender;
        emit DisputeResolved(_disputeId, _winner, _how, remove);
        if (!present) return;
        if (_winner == Party.Defender) _ORACLE.setDisputed(index, false);
        // The proposer's bond goes to the challenger that showed it wrong; when nobody judged, back to it.
        else _ORACLE.deleteL2Outputs(index, _winner == Party.Challenger ? challenger : defender);
    }

    /// @dev Output `_index` and its identity, or `exists_` false when the oracle has none (it reverts).
    function _outputAt(uint256 _index)
        private
        view
        returns (bool exists_, bytes32 key_, IOutputDisputeOracle.OutputProposal memory output_)
    {
        try _ORACLE.getL2Output(_index) returns (IOutputDisputeOracle.OutputProposal memory o) {
            if (o.outputRoot == bytes32(0) && o.l2BlockNumber == 0) return (false, bytes32(0), o);
            (exists_, output_) = (true, o);
            key_ = keccak256(abi.encode(_index, o.outputRoot, o.timestamp, o.l2BlockNumber));
        } catch {
            exists_ = false;
        }
    }

    /// @dev The arity of a bisection phase; reverts for any other phase.
    function _arityOf(uint256 _disputeId, Phase _phase) private view returns (uint256 k_) {
        if (_phase == Phase.Blocks) return _BLOCKS_ARITY;
        if (_phase == Phase.Transactions) return _TXS_ARITY;
        _phaseError(_disputeId, _phase);
    }

    /// @dev Revert unless the dispute is in `_phase`.
    function _inPhase(uint256 _disputeId, Dispute storage _d, Phase _phase) private view {
        Phase phase = _d.phase;
        if (phase != _phase) _phaseError(_disputeId, phase);
    }

    /// @dev The error for a call in the wrong phase `_phase`.
    function _phaseError(uint256 _disputeId, Phase _phase) private pure {
        if (_phase == Phase.None) revert OutputDisputeUnknownDispute(_disputeId);
        if (_phase == Phase.Resolved) revert OutputDisputeResolved(_disputeId);
        revert OutputDisputeWrongPhase(_disputeId, _phase);
    }

    /// @dev A move by `_side` (the caller checked the phase): it is that side's turn, the caller is that side,
    /// and its clock runs; charge the clock, restart the turn now and count the move.
    function _move(uint256 _disputeId, Dispute storage _d, Party _side) private {
        Party turn = _d.turn;
        if (turn != _side) revert OutputDisputeWrongMove(_disputeId, _side, turn);
        bool challenger = _side == Party.Challenger;
        if (msg.sender != (challenger ? _d.challenger : _d.defender)) {
            revert OutputDisputeNotYourTurn(_disputeId, msg.sender, turn);
        }
        uint64 started = _d.turnStartedAt;
        uint64 left = challenger ? _d.challengerClock : _d.defenderClock;
        uint64 deadline = KaryBisection.deadline(started, left);
        if (block.timestamp > deadline) revert OutputDisputeClockExpired(_disputeId, turn, deadline);
        left = KaryBisection.spend(started, left);
        if (challenger) _d.challengerClock = left;
        else _d.defenderClock = left;
        _d.turnStartedAt = uint64(block.timestamp);
        _d.moves += 1;
    }

    /// @dev When the side to move runs out of time (the committee's deadline in Committee; 0 once resolved).
    function _deadline(Dispute storage _d) private view returns (uint64) {
        Phase phase = _d.phase;
        if (phase == Phase.Committee) return _d.turnStartedAt + _CLOCK_SECONDS;
        Party turn = _d.turn;
        if (turn == Party.None) return 0;
        uint64 left = turn == Party.Challenger ? _d.challengerClock : _d.defenderClock;
        return KaryBisection.deadline(_d.turnStartedAt, left);
    }

    /// @dev Revert unless `_proof` is version 0 and hashes to `_root` (OP's Hashing.hashOutputRootProof).
    function _checkPreimage(uint256 _disputeId, OutputRootProof calldata _proof, bytes32 _root) private pure {
        bytes32 computed = keccak256(abi.encode(_proof));
        if (_proof.version != bytes32(0) || computed != _root) {
            revert OutputDisputeBadPreimage(_disputeId, _root, computed);
        }
    }

    /// @dev The fields of an RLP block header the game checks. Every header since London starts alike:
    /// `f9 LLLL` (a list over 255 bytes: the bloom alone is 256), `a0` parentHash, `a0` ommersHash, `94`
    /// coinbase, `a0` stateRoot, `a0` transactionsRoot, `a0` receiptsRoot, `b9 0100` logsBloom, then the
    /// difficulty and the number as RLP integers. Anything else is refused (HeaderCheck.Encoding).
    function _parseHeader(uint256 _disputeId, bytes calldata _h)
        private
        pure
        returns (bytes32 parent_, bytes32 stateRoot_, bytes32 txRoot_, uint256 number_)
    {
        uint256 len = _h.length;
        if (
            len < 450 || _h[0] != 0xf9 || uint256(uint16(bytes2(_h[1:3]))) + 3 != len || _h[3] != 0xa0
                || _h[36] != 0xa0 || _h[69] != 0x94 || _h[90] != 0xa0 || _h[123] != 0xa0 || _h[156] != 0xa0
                || _h[189] != 0xb9 || _h[190] != 0x01 || _h[191] != 0x00
        ) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.Encoding);
        parent_ = bytes32(_h[4:36]);
        stateRoot_ = bytes32(_h[91:123]);
        txRoot_ = bytes32(_h[124:156]);
        (, uint256 next) = _rlpUint(_disputeId, _h, 448); // difficulty
        (number_,) = _rlpUint(_disputeId, _h, next);
    }

    /// @dev The RLP integer at `_p` (at most 32 bytes) and the offset after it.
    function _rlpUint(uint256 _disputeId, bytes calldata _h, uint256 _p)
        private
        pure
        returns (uint256 value_, uint256 next_)
    {
        if (_p >= _h.length) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.Encoding);
        uint256 b = uint8(_h[_p]);
        if (b < 0x80) return (b, _p + 1);
        uint256 n = b - 0x80;
        next_ = _p + 1 + n;
        if (n > 32 || next_ > _h.length) revert OutputDisputeBadHeader(_disputeId, HeaderCheck.Encoding);
        if (n != 0) value_ = uint256(bytes32(_h[_p + 1:next_])) >> (256 - 8 * n);
    }

    /// @dev Count distinct signatures of committee `_epoch`'s members over `_hash` (EIP-191); revert unless they
    /// reach its threshold.
    function _checkSignatures(uint256 _disputeId, uint32 _epoch, bytes32 _hash, bytes[] calldata _signatures)
        private
        view
    {
        uint256 threshold = _committees[_epoch].threshold;
        // INVARIANT: a dispute opened before any committee existed has no judges; it can only expire.
        if (threshold == 0) revert OutputDisputeNoCommittee(_disputeId);
        uint256 n = _signatures.length;
        if (n < threshold) revert OutputDisputeTooFewSignatures(_disputeId, n, threshold);
        bytes32 signed = MessageHashUtils.toEthSignedMessageHash(_hash);
        mapping(address => bool) storage isMember = _isMember[_epoch];
        address[] memory seen = new address[](n);
        for (uint256 i; i < n; ++i) {
            address signer = ECDSA.recover(signed, _signatures[i]);
            if (!isMember[signer]) revert OutputDisputeNotCommitteeMember(_disputeId, signer);
            // Quadratic, but n is bounded by the caller's gas: a member signing twice would otherwise count twice.
            for (uint256 j; j < i; ++j) {
                if (seen[j] == signer) revert OutputDisputeDuplicateSigner(_disputeId, signer);
            }
            seen[i] = signer;
        }
    }

    /// @dev The committee digest of a record for `_winner`.
    function _digest(uint256 _disputeId, bytes32 _record, Party _winner) private view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), _disputeId, _record, _winner));
    }

    /// @dev The dispute, reverting for an unknown id.
    function _dispute(uint256 _disputeId) private view returns (Dispute storage d_) {
        d_ = _disputes[_disputeId];
        if (d_.phase == Phase.None) revert OutputDisputeUnknownDispute(_disputeId);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOutputDispute
    function disputeOf(uint256 _disputeId) external view returns (Dispute memory dispute_) {
        dispute_ = _disputes[_disputeId];
    }

    /// @inheritdoc IOutputDispute
    function positions(uint256 _disputeId) external view returns (uint64[] memory positions_) {
        Dispute storage d = _dispute(_disputeId);
        Phase phase = d.phase;
        if (phase == Phase.Blocks) positions_ = KaryBisection.positions(d.lo, d.hi, _BLOCKS_ARITY);
        else if (phase == Phase.Transactions) positions_ = KaryBisection.positions(d.lo, d.hi, _TXS_ARITY);
    }

    /// @inheritdoc IOutputDispute
    function moveDeadline(uint256 _disputeId) external view returns (uint64 deadline_) {
        deadline_ = _deadline(_dispute(_disputeId));
    }

    /// @inheritdoc IOutputDispute
    function committeeDigest(uint256 _disputeId, Party _winner) external view returns (bytes32 digest_) {
        digest_ = _digest(_disputeId, _dispute(_disputeId).record, _winner);
    }

    /// @inheritdoc IOutputDispute
    function disputeOfOutput(uint256 _outputIndex) external view returns (uint256 disputeId_) {
        (bool exists, bytes32 key,) = _outputAt(_outputIndex);
        if (exists) disputeId_ = _liveByOutput[key];
    }

    /// @inheritdoc IOutputDispute
    function committee() external view returns (address[] memory members_, uint256 threshold_) {
        Committee storage c = _committees[_committeeEpoch];
        (members_, threshold_) = (c.members, c.threshold);
    }

    /// @inheritdoc IOutputDispute
    function committeeOf(uint256 _disputeId) external view returns (address[] memory members_, uint256 threshold_) {
        Committee storage c = _committees[_dispute(_disputeId).committeeEpoch];
        (members_, threshold_) = (c.members, c.threshold);
    }

    /// @inheritdoc IOutputDispute
    function bondCredit(address _account) external view returns (uint256 amount_) {
        amount_ = _bondCredit[_account];
    }

    /// @inheritdoc IOutputDispute
    function disputeCount() external view returns (uint256 count_) {
        count_ = _disputeCount;
    }

    /// @inheritdoc IOutputDispute
    function oracle() external view returns (IOutputDisputeOracle oracle_) {
        oracle_ = _ORACLE;
    }

    /// @inheritdoc IOutputDispute
    function STARTING_OUTPUT_ROOT() external view returns (bytes32 root_) {
        root_ = _STARTING_OUTPUT_ROOT;
    }

    /// @inheritdoc IOutputDispute
    function CHALLENGER_BOND() external view returns (uint256 bond_) {
        bond_ = _BOND;
    }

    /// @inheritdoc IOutputDispute
    function CLOCK_SECONDS() external view returns (uint64 seconds_) {
        seconds_ = _CLOCK_SECONDS;
    }

    /// @inheritdoc IOutputDispute
    function arity() external view returns (uint8 blocks_, uint8 transactions_) {
        (blocks_, transactions_) = (_BLOCKS_ARITY, _TXS_ARITY);
    }
}
