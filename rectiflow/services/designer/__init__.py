"""The process designer: validation, versioned deploy from the browser, deliberate migration."""
