"""A round's chain (巡察整改链条): rounds, problems, reports, supervision, acceptance, accountability."""
