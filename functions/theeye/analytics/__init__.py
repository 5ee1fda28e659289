"""Analysis over every stored event: the ``events`` table (its columns and how a stored event
becomes a row), SQL over it and the insights built on that SQL."""
