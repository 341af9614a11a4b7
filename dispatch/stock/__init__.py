"""Stock: catalogue, FEFO rules, reservations, pick lists and write-offs."""
