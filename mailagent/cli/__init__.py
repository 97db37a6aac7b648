"""The `mailagent` command line."""
