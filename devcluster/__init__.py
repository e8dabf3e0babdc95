"""The local Kubernetes control plane that Harmonia's demo and tests run against.

Built from the upstream Go modules (see `pins`), started on 127.0.0.1 with KWOK
playing the kubelet. A development tool: the product never imports it.
"""
