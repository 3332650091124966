"""Running processes: definitions, instances, user tasks, triggers, timers, projections, operations."""
