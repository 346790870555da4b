"""Where every artifact comes from: provenance records, and the audit that re-checks them."""
