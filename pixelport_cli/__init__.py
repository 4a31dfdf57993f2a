"""`pixelport`, the command-line client: outside the Lambda layers, so none of it ships to Lambda."""
