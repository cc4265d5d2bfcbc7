"""`chaser`: the engineers' command line — replay histories, export them from the server."""
