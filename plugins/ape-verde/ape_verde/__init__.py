"""Ape plugin for our L2 (rollup/node.py): the provider `verde` on the network ethereum:l2.

`ape test --network ethereum:l2:verde` needs it: Ape isolates tests with snapshots, which ape_node's `node`
provider refuses on any network but `local`. The network itself is declared in ape-config.yaml (`networks:
custom:`); a provider registered for (ecosystem, network) attaches to a custom network of that name.
"""

from ape import plugins

NETWORK = "l2"


@plugins.register(plugins.Config)
def config_class():
    from ape_verde.provider import VerdeConfig

    return VerdeConfig


@plugins.register(plugins.ProviderPlugin)
def providers():
    from ape_verde.provider import VerdeNode

    yield "ethereum", NETWORK, VerdeNode
