"""One route per module; importing them registers the pages."""
