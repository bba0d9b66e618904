"""The Philox counter RNG matches Random123's known answers and depends only on (seed, stream, counter)."""

from __future__ import annotations

import subprocess
import sys

import torch

from offchain.repops.rng import philox4x32, philox_words, uniform

# Random123 kat_vectors, philox4x32 10 rounds: (counter, key, expected words)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def test_philox_known_answers_match_random123() -> None:
    """Philox-4x32-10 reproduces the three Random123 known-answer vectors."""
    for ctr, key, want in KAT:
        got = philox4x32(tuple(torch.tensor([c], dtype=torch.int64) for c in ctr), key)
        assert tuple(int(w) for w in got) == want


def test_philox_words_offset_slices_same_stream() -> None:
    """Words drawn from an offset equal the same slice of one long draw (a counter, not a state)."""
    full = philox_words(seed=7, stream=3, offset=0, n=103)
    assert torch.equal(philox_words(seed=7, stream=3, offset=41, n=37), full[41:78])
    assert not torch.equal(philox_words(seed=8, stream=3, offset=0, n=103), full)


def test_uniform_first_values_fixed_vector() -> None:
    """The first uniform floats of (seed 0, stream 0) are the fixed known values (top 24 bits of the KAT words)."""
    u = uniform(seed=0, stream=0, offset=0, n=4)
    want = torch.tensor([w >> 8 for w in KAT[0][2]], dtype=torch.float32) * 2.0**-24
    assert torch.equal(u, want)


def test_uniform_thread_count_same_bits() -> None:
    """A large draw gives identical bits with 1 and 2 threads in separate processes."""
    code = (
        "import sys, torch, hashlib; torch.set_num_threads(int(sys.argv[1]));"
        "from offchain.repops.rng import uniform;"
        "print(hashlib.sha256(uniform(seed=5, stream=1, offset=3, n=200000).numpy().tobytes()).hexdigest())"
    )
    outs = {subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True, text=True, check=True).stdout
            for n in (1, 2)}  # fmt: skip
    assert len(outs) == 1
