"""Cases: what each email and each deadline does to a case, and the emails it causes."""
