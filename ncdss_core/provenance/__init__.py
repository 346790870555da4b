"""Where every artifact comes from: atomic writes, provenance records, and the audit that re-checks them."""
