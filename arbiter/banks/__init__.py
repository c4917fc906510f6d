"""Hash banks: reference media hashed once, indexed for fast matching, shared as hash lists."""
