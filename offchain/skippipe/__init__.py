"""SkipPipe (Blagoev et al., arXiv 2502.19913), first step: the geo-distributed setting and a discrete-event
simulator of one iteration's time under a schedule (docs/skippipe.md). The scheduler and the runner come later."""
