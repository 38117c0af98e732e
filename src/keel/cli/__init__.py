"""The keel command line: a thin shell over the library."""
