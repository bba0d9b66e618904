"""RL Swarm node: answer -> critique -> vote & revise over hivemind (see docs/swarm-node.md)."""
