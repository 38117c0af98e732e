"""`keel demo`: the Bayit+ API released on the local platform under synthetic traffic, good and faulty."""
