"""rectiflow."""
