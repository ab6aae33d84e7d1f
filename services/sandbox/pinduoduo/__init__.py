"""A Pinduoduo open-platform imitation: the ``/api/router`` gateway, malls, orders and order messages.

Written from the platform's published facts (each module cites its sources), independently of any adapter in
``services/shipping``: the sandbox is the other side of the protocol.
"""
