"""Exchange with office documents: Excel problem lists and ledgers, Word closure forms and reports."""
