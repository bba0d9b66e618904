"""Verde: a training job as a program of float32 ops, its trace, and the dispute game that pins a cheat to one element
(docs/verde.md, docs/verde-trace.md)."""
