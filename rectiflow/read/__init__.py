"""Read models: one per feature (inbox, ledger, rounds, problems, instances, notices, statistics).

Each takes the actor and a typed, validated filter and returns a :class:`~rectiflow.read.paging.Page`
with the true total, in a stable order. The pages, the JSON API and the exports all call these, so a
filter means the same rows everywhere and no list stops silently at an arbitrary row count.
"""
