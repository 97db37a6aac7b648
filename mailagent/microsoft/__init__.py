"""Microsoft 365 and Exchange: Graph over HTTP, EWS, OAuth tokens."""
