"""Reading email: parsing, quotes, automated mail, references, fields, classification."""
