"""Services: the only layer that joins the engine and the database. Functions flush, never commit;
the caller (a web request, a CLI command, a worker tick) owns the transaction."""
