"""The RL Swarm node: signed payloads, gossip, GRPO/SAPO training and the node itself (docs/swarm-node.md)."""
