"""Image processing: a pure function from (bytes, request) to (bytes, metadata), no AWS code here."""
