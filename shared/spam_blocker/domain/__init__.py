"""Pure domain logic: no I/O, no boto3/httpx, no os.environ, no wall clock."""
