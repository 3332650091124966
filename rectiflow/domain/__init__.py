"""Pure domain rules: calendar arithmetic, deadlines, warnings, report schedules, taxonomies."""
