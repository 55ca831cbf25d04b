"""Text formats shared by every surface: durations, timestamps, S3 names and identifiers."""
