"""Log entries from the target's output, a file or OTLP, read into one model."""
