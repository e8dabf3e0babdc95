"""The Kubernetes edge: connection, discovery and requests.

The only package that imports the `kubernetes` client.
"""
