"""Chaos Toolkit extension for the ccdr lab: `actions` inject and undo faults, `probes` observe.

Experiments (drills/experiments/*.json) name these functions with a python provider, e.g.
`{"type": "python", "module": "drills.chaos.actions", "func": "kill_site", "arguments": {"site": "a"}}`.
Every function is plain, typed and keyword-called; the topology comes from `CCDR_TOPOLOGY` or
the default file, as for the `ccdr` CLI.
"""
