// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOutputDisputeOracle} from "./IOutputDisputeOracle.sol";

/// @title IOutputDispute
/// @notice The rollup's output dispute game (docs/rollup.md, "Output disputes"): a challenger with a bond
/// disputes output `index` of the output oracle; the output's proposer defends it. Three phases narrow the
/// disagreement to ONE transaction from an agreed pre-state, which the m-of-n attestor committee decides.
///
/// 1. Blocks (`postRoots` / `pick`). The range is `(lo, hi]` over L2 block numbers: `lo` the block of output
///    `index - 1` (or the oracle's starting block, with the starting output root), agreed by opening; `hi` the
///    disputed output's block. Every round the defender posts its output roots at up to `k - 1` blocks spread
///    evenly inside the range (`positions`), the challenger picks the first piece it disagrees with (its start
///    agreed, its end not), until one block `b` is left: output root of `b - 1` agreed, of `b` disputed.
/// 2. Block (`revealBlock`, then `disputeTransactions` or `disputeBlock`). The defender reveals the preimages
///    of both output roots (OP's OutputRootProof: version 0, stateRoot, messagePasserStorageRoot,
///    latestBlockhash; checked by keccak on chain) and block `b`'s RLP header (keccak must be the post
///    preimage's block hash; its parentHash must be the agreed block hash of `b - 1`, its stateRoot the post
///    preimage's, its number `b`), and the block's transaction count `n`; the header's transactionsRoot commits
///    to the transactions. This ties the transaction bisection's first point to the agreed output (the state
///    root of `b - 1`) and its last to the disputed one (the defender's state root of `b`). The challenger then
///    either posts its own state root of `b` (`disputeTransactions`, different from the defender's) and the
///    game bisects over the transactions, or agrees with the state root and disputes the rest of the block
///    (`disputeBlock`: its transactions or other header fields are not what L1 derivation gives, or its
///    message passer root is not that account's storage root in the state): the committee judges the block.
/// 3. Transactions (`postRoots` / `pick` again). Positions `0..max(n, 1)`: position `j` is the state root after
///    the block's first `j` transactions, so position 0 is the state root of `b - 1` and position `max(n, 1)`
///    the state root of `b`. Step `j` (from position `j` to `j + 1`) is transaction `j`, with the block's
///    system operations before the first transaction added to step 0 and those after the last to the last step
///    (an empty block is one step of system operations). The game narrows to one step `i`: pre-state agreed,
///    the defender's post-state disputed.
/// 4. Evidence (`postEvidence`, defender first). Each side posts its post-state root (the state root after step
///    `i`, or for a disputed block its output root of `b`), the transaction (its bytes; the defender posts
///    them with a proof of inclusion against the header's transactionsRoot inside the witness) and a witness
///    (the accounts and storage slots the step touches, with Merkle proofs against the agreed pre-state root).
///    None of it is verified on chain: it is emitted for the committee and hashed into the dispute's `record`.
/// 5. Committee (`resolveByCommittee`). Within `CLOCK_SECONDS()` of the record being sealed, `threshold` of the
///    committee in force when the dispute opened sign `committeeDigest(disputeId, winner)` (EIP-191) after
///    replaying the one step (or, for a disputed block, the block) from the agreed pre-state with the witness.
///    Everything they saw is on chain, so anyone can check their verdict. Past that clock, `timeout` expires
///    the dispute.
///
/// Clocks and bonds: each side has a chess clock of `CLOCK_SECONDS()`, spent only on its own turns; a move's
/// deadline is its turn's start plus the mover's time left (`moveDeadline`). A side whose clock runs out loses
/// (`timeout`, anyone). The challenger bonds `CHALLENGER_BOND()`; the proposer's bond is the one it posted with
/// the output, held by the oracle. Challenger wins: the output and every later one are deleted
/// (`deleteL2Outputs(index, challenger)`: the proposer's bond goes to the challenger) and the challenger's bond
/// comes back. Defender wins: the challenger's bond goes to the proposer and the output is released
/// (`setDisputed(index, false)`). Expired (the committee did not decide): the challenger's bond comes back and the
/// output is deleted with its bond returned to the proposer, because an output nobody could judge must not
/// release withdrawals. Payments are pulled (`withdrawBond`).
interface IOutputDispute {
    // ---------------------------------------------------------------- types

    /// @notice Where a dispute stands.
    enum Phase {
        None, // no such dispute
        Blocks, // k-ary bisection over the L2 blocks of the disputed output
        Block, // one block pinned: the defender reveals it, the challenger says what it disputes
        Transactions, // k-ary bisection over the state roots after each transaction of the block
        Evidence, // one step (or the block) pinned: each side posts its post-state root, transaction, witness
        Committee, // the record is sealed: waiting for the committee's signatures
        Resolved // decided; bonds credited, the oracle told
    }

    /// @notice A side of a dispute.
    enum Party {
        None,
        Challenger,
        Defender
    }

    /// @notice What the committee judges.
    enum Kind {
        None, // not pinned yet
        Transaction, // one step of the block: its transaction from the agreed pre-state root
        Block // the whole block: its inputs from L1 derivation, its execution, its output root
    }

    /// @notice How a dispute was decided.
    enum Resolution {
        None,
        Committee, // m-of-n attestor signatures
        Timeout, // a side's clock ran out
        Expired // the committee did not decide in time: the output is deleted, both bonds returned
    }

    /// @notice Which check of a revealed block header failed.
    enum HeaderCheck {
        Encoding, // not an RLP header of the expected shape
        Hash, // keccak(header) is not the post output's block hash
        Parent, // parentHash is not the agreed block hash of b - 1
        StateRoot, // stateRoot is not the post output's state root
        Number // number is not b
    }

    /// @notice The preimage of an output root, as OP's `Types.OutputRootProof`:
    /// outputRoot = keccak256(abi.encode(version, stateRoot, messagePasserStorageRoot, latestBlockhash)).
    struct OutputRootProof {
        bytes32 version; // 0
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 latestBlockhash;
    }

    /// @notice One dispute.
    struct Dispute {
        address challenger; // who opened it and bonded
        Phase phase;
        Party turn; // whose move it is (None in Committee and once resolved)
        Kind kind; // what the committee judges (set when the step or the block is pinned)
        Party winner; // set once resolved (None when expired)
        Resolution how;
        uint32 moves; // moves accepted so far (every call by a side, the opening not included)
        address defender; // the disputed output's proposer
        uint64 turnStartedAt; // unix seconds when the current turn (or the committee's clock) started
        uint32 committeeEpoch; // the committee in force when the dispute opened: the one that may decide it
        uint64 challengerClock; // seconds left on the challenger's clock
        uint64 defenderClock; // seconds left on the defender's clock
        uint64 lo; // last agreed position of the current bisection (L2 block, then transaction count)
        uint64 hi; // first disputed position
        uint64 outputIndex; // the disputed output
        uint64 l2Block; // the pinned block b (0 before)
        uint32 txCount; // the block's transactions, as the defender revealed
        uint32 txIndex; // the pinned step i (Transaction kind)
        bytes32 outputKey; // identity of the disputed output: keccak(index, outputRoot, timestamp, l2BlockNumber)
        bytes32 agreedRoot; // both sides' value at `lo` (an output root, then a state root)
        bytes32 disputedRoot; // the defender's value at `hi`
        bytes32 pendingRoots; // keccak of the defender's roots of this round, until the challenger picks
        bytes32 blockOutputRoot; // the defender's output root of block b
        bytes32 blockHash; // the defender's block hash of b (keccak of the revealed header)
        bytes32 challengerRoot; // the challenger's state root of b, then its post-state root in Evidence
        bytes32 defenderEvidence; // keccak(abi.encode(keccak(transaction), keccak(witness))) of the defender
        bytes32 record; // everything the committee judges, hashed (see `RecordSealed`)
    }

    // ---------------------------------------------------------------- events

    /// @notice Output `outputIndex` was disputed; the bisection over blocks `(lo, hi]` starts, the defender first.
    event DisputeOpened(
        uint256 indexed disputeId,
        uint256 indexed outputIndex,
        address indexed challenger,
        address proposer,
        uint64 lo,
        uint64 hi,
        bytes32 agreedRoot,
        bytes32 outputRoot
    );
    /// @notice The defender's roots at `positions` of the round over `(lo, hi]`: output roots in Blocks, state
    /// roots in Transactions.
    event RootsPosted(uint256 indexed disputeId, Phase phase, uint64 lo, uint64 hi, bytes32[] roots);
    /// @notice The challenger picked `piece`; the range is now `(lo, hi]`.
    event IntervalPicked(uint256 indexed disputeId, Phase phase, uint256 piece, uint64 lo, uint64 hi);
    /// @notice The block bisection ended at block `l2Block`: output root of `l2Block - 1` agreed, of `l2Block`
    /// disputed.
    event BlockPinned(uint256 indexed disputeId, uint64 l2Block, bytes32 agreedOutputRoot, bytes32 disputedOutputRoot);
    /// @notice The defender revealed block `l2Block`: both output roots' preimages, the header, the transaction
    /// count and (from the header) the transactions root.
    event BlockRevealed(
        uint256 indexed disputeId,
        uint64 l2Block,
        OutputRootProof pre,
        OutputRootProof post,
        bytes32 transactionsRoot,
        uint32 txCount,
        bytes header
    );
    /// @notice The challenger disputes the block's execution: its state root of the block; `steps` positions.
    event TransactionsDisputed(uint256 indexed disputeId, bytes32 challengerStateRoot, uint64 steps);
    /// @notice The challenger agrees with the block's state root and disputes the rest of the block.
    event BlockDisputed(uint256 indexed disputeId, uint64 l2Block);
    /// @notice The transaction bisection ended at step `txIndex` of block `l2Block`.
    event TransactionPinned(
        uint256 indexed disputeId, uint64 l2Block, uint32 txIndex, bytes32 preStateRoot, bytes32 defenderPostRoot
    );
    /// @notice A side's evidence for the committee.
    event EvidencePosted(uint256 indexed disputeId, Party party, bytes32 postRoot, bytes transaction, bytes witness);
    /// @notice Both sides posted their evidence; the committee's clock starts. `record` is
    /// keccak256(abi.encode(kind, l2Block, txIndex, txCount, blockHash, preRoot, defenderPostRoot,
    /// challengerPostRoot, defenderEvidence, challengerEvidence)), each evidence
    /// keccak256(abi.encode(keccak256(transaction), keccak256(witness))).
    event RecordSealed(uint256 indexed disputeId, Kind kind, bytes32 record);
    /// @notice The dispute was decided (`winner` None when expired). `outputRemoved`: the oracle deleted the
    /// output (false when the defender won, or when the output was already gone).
    event DisputeResolved(uint256 indexed disputeId, Party winner, Resolution how, bool outputRemoved);
    /// @notice Governance set a new committee; disputes opened from now on are decided by it.
    event CommitteeSet(uint32 indexed epoch, address[] members, uint256 threshold);
    /// @notice `amount` of bond credit was paid out to `account`.
    event BondWithdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice Constructor arguments out of range (no oracle, zero bond or clock, an arity outside 2..32).
    error OutputDisputeBadConfig();
    /// @notice msg.value was `sent`, the bond is `expected`.
    error OutputDisputeWrongBond(uint256 sent, uint256 expected);
    /// @notice The oracle has no output `outputIndex`.
    error OutputDisputeUnknownOutput(uint256 outputIndex);
    /// @notice Output `outputIndex` is already disputed by `disputeId`.
    error OutputDisputeAlreadyDisputed(uint256 outputIndex, uint256 disputeId);
    /// @notice The proposer cannot dispute its own output.
    error OutputDisputeSelfDispute(address account);
    /// @notice The output's block is not after the agreed start: nothing to bisect.
    error OutputDisputeEmptyRange(uint256 outputIndex, uint256 lo, uint256 hi);
    /// @notice No dispute has id `disputeId`.
    error OutputDisputeUnknownDispute(uint256 disputeId);
    /// @notice The dispute is already resolved.
    error OutputDisputeResolved(uint256 disputeId);
    /// @notice The call belongs to another phase than the dispute's `phase`.
    error OutputDisputeWrongPhase(uint256 disputeId, Phase phase);
    /// @notice The move is `side`'s, and it is `turn`'s turn.
    error OutputDisputeWrongMove(uint256 disputeId, Party side, Party turn);
    /// @notice `caller` is not the side whose move it is (`turn`).
    error OutputDisputeNotYourTurn(uint256 disputeId, address caller, Party turn);
    /// @notice The mover's clock ran out at `deadline`; only `timeout` is possible now.
    error OutputDisputeClockExpired(uint256 disputeId, Party party, uint64 deadline);
    /// @notice The mover's clock (or the committee's) still runs until `deadline`.
    error OutputDisputeClockRunning(uint256 disputeId, Party party, uint64 deadline);
    /// @notice A round carried `have` roots; it needs `need` (`positions`).
    error OutputDisputeBadWidth(uint256 disputeId, uint256 have, uint256 need);
    /// @notice The roots repeated with a pick are not the defender's of this round.
    error OutputDisputeRootsMismatch(uint256 disputeId);
    /// @notice The piece picked is out of range (`count` is the last piece).
    error OutputDisputeBadPick(uint256 disputeId, uint256 piece, uint256 count);
    /// @notice An output-root preimage does not hash to `expected` (or its version is not 0).
    error OutputDisputeBadPreimage(uint256 disputeId, bytes32 expected, bytes32 computed);
    /// @notice The revealed header fails `check`.
    error OutputDisputeBadHeader(uint256 disputeId, HeaderCheck check);
    /// @notice The challenger's root equals the defender's: there is nothing to dispute there.
    error OutputDisputeRootsAgree(uint256 disputeId, bytes32 root);
    /// @notice The defender's evidence must carry its own disputed root, `expected`.
    error OutputDisputeBadPostRoot(uint256 disputeId, bytes32 expected, bytes32 posted);
    /// @notice `winner` is not a side.
    error OutputDisputeBadWinner(uint256 disputeId, Party winner);
    /// @notice No committee was in force when the dispute opened: nobody can decide it, it expires.
    error OutputDisputeNoCommittee(uint256 disputeId);
    /// @notice Only `have` signatures were given, `need` are required.
    error OutputDisputeTooFewSignatures(uint256 disputeId, uint256 have, uint256 need);
    /// @notice `signer` is not a member of the dispute's committee.
    error OutputDisputeNotCommitteeMember(uint256 disputeId, address signer);
    /// @notice `signer` signed twice.
    error OutputDisputeDuplicateSigner(uint256 disputeId, address signer);
    /// @notice A committee of `members` with `threshold` is malformed (empty, too large, zero or duplicate
    /// member, threshold 0 or above the size).
    error OutputDisputeBadCommitteeSetup(uint256 members, uint256 threshold);
    /// @notice `account` has no bond credit.
    error OutputDisputeNothingToWithdraw(address account);

    // ---------------------------------------------------------------- moves

    /// @notice Dispute output `outputIndex`, agreeing with the output before it (or the starting output).
    /// Send `CHALLENGER_BOND()`. The oracle marks the output disputed.
    function openDispute(uint256 outputIndex) external payable returns (uint256 disputeId_);

    /// @notice Defender, Blocks and Transactions: your roots at `positions(disputeId)`.
    function postRoots(uint256 disputeId, bytes32[] calldata roots) external;

    /// @notice Challenger, Blocks and Transactions: the first piece you disagree with (0..roots.length: from
    /// the range's start or root `piece - 1` to root `piece` or the range's end), with the defender's roots of
    /// this round repeated (from `RootsPosted`).
    function pick(uint256 disputeId, uint256 piece, bytes32[] calldata roots) external;

    /// @notice Defender, Block: reveal the pinned block (see the contract's notice).
    function revealBlock(
        uint256 disputeId,
        OutputRootProof calldata pre,
        OutputRootProof calldata post,
        bytes calldata header,
        uint32 txCount
    ) external;

    /// @notice Challenger, Block: your state root of the block, which differs from the defender's; the
    /// transactions are bisected next.
    function disputeTransactions(uint256 disputeId, bytes32 stateRoot) external;

    /// @notice Challenger, Block: you agree with the block's state root and dispute the rest of the block; the
    /// committee judges the whole block.
    function disputeBlock(uint256 disputeId) external;

    /// @notice Evidence, the defender then the challenger: your post-state root (the defender's must be its
    /// disputed root; the challenger's must differ), the transaction and the witness.
    function postEvidence(uint256 disputeId, bytes32 postRoot, bytes calldata transaction, bytes calldata witness)
        external;

    /// @notice Decide a sealed dispute by `threshold` EIP-191 signatures of its committee over
    /// `committeeDigest(disputeId, winner)`, within `CLOCK_SECONDS()` of the record being sealed.
    function resolveByCommittee(uint256 disputeId, Party winner, bytes[] calldata signatures) external;

    /// @notice Anyone: the side to move ran out of clock (it loses), or the committee's clock ran out (expired).
    function timeout(uint256 disputeId) external;

    /// @notice Pull your bond credit.
    function withdrawBond() external returns (uint256 amount_);

    /// @notice Governance: a new committee epoch for disputes opened from now on.
    function setCommittee(address[] calldata members, uint256 threshold) external;

    // ---------------------------------------------------------------- views

    /// @notice The dispute.
    function disputeOf(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The positions of the current round (Blocks: block numbers; Transactions: transaction counts).
    function positions(uint256 disputeId) external view returns (uint64[] memory);

    /// @notice When the side to move (or, in Committee, the committee) runs out of time.
    function moveDeadline(uint256 disputeId) external view returns (uint64);

    /// @notice What the committee signs (EIP-191) for `winner`:
    /// keccak256(abi.encode(chainid, this, disputeId, record, winner)).
    function committeeDigest(uint256 disputeId, Party winner) external view returns (bytes32);

    /// @notice The live dispute over the output now at `outputIndex` (0: none).
    function disputeOfOutput(uint256 outputIndex) external view returns (uint256);

    /// @notice The committee in force.
    function committee() external view returns (address[] memory members_, uint256 threshold_);

    /// @notice The committee that decides `disputeId`.
    function committeeOf(uint256 disputeId) external view returns (address[] memory members_, uint256 threshold_);

    /// @notice Withdrawable bond credit of `account`.
    function bondCredit(address account) external view returns (uint256);

    /// @notice The last dispute id handed out (ids start at 1).
    function disputeCount() external view returns (uint256);

    /// @notice The output oracle this game holds DISPUTE_ROLE on.
    function oracle() external view returns (IOutputDisputeOracle);

    /// @notice The output root at the oracle's starting block, the agreed pre-state of output 0.
    function STARTING_OUTPUT_ROOT() external view returns (bytes32);

    /// @notice The challenger's bond, in wei.
    function CHALLENGER_BOND() external view returns (uint256);

    /// @notice Each side's clock (and the committee's), in seconds.
    function CLOCK_SECONDS() external view returns (uint64);

    /// @notice The arities of the block and the transaction bisections.
    function arity() external view returns (uint8 blocks_, uint8 transactions_);
}
