"""Every query of the shipping service, one module per group of tables; nothing else reads or writes them."""
