"""The council's rules as data: ladders, vocabulary, directory, working days."""
